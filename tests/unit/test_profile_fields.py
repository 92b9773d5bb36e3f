"""User and device profile field checks."""

from __future__ import annotations

import pytest

from pushwise.domain.profile_fields import check_email, check_locale, check_phone, check_timezone


def test_timezones_are_iana_names() -> None:
    assert check_timezone("Asia/Shanghai") == "Asia/Shanghai"
    assert check_timezone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "CEST"):
        with pytest.raises(ValueError, match="time zone"):
            check_timezone(bad)


def test_locales_are_bcp47_shaped_and_normalised() -> None:
    assert check_locale("zh-CN") == "zh-CN"
    assert check_locale("zh_Hant_TW") == "zh-Hant-TW"
    assert check_locale("en") == "en"
    for bad in ("e", "english!", "zh--CN", "12-AB"):
        with pytest.raises(ValueError, match="BCP 47"):
            check_locale(bad)


def test_phone_numbers_are_e164_after_removing_punctuation() -> None:
    assert check_phone("+86 138-0000-0000") == "+8613800000000"
    for bad in ("13800000000", "+0123456789", "+1 555"):
        with pytest.raises(ValueError, match=r"E\.164"):
            check_phone(bad)


def test_email_addresses_need_a_local_part_and_a_dotted_domain() -> None:
    assert check_email("li.wei@example.cn") == "li.wei@example.cn"
    for bad in ("li.wei", "li@wei", "a b@example.com", "@example.com"):
        with pytest.raises(ValueError, match="e-mail"):
            check_email(bad)

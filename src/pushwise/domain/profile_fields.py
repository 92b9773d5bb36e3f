"""Checks for user and device profile fields (time zone, locale, phone, e-mail).

Quiet hours and local-time sends read the time zone, so an unknown name must be
refused at the door rather than discovered when a notification is scheduled.
"""

from __future__ import annotations

import re
import zoneinfo

_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {name!r}") from error
    return name


def check_locale(tag: str) -> str:
    """A BCP 47-shaped tag (`en`, `zh-CN`, `zh-Hant-TW`); `_` is accepted and normalised to `-`."""
    normalised = tag.replace("_", "-")
    if len(normalised) > 35 or not _LOCALE.fullmatch(normalised):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag such as 'en' or 'zh-CN'")
    return normalised


def check_phone(number: str) -> str:
    compact = re.sub(r"[\s().-]", "", number)
    if not _PHONE.fullmatch(compact):
        raise ValueError("a phone number is in E.164 form, such as +8613800000000")
    return compact


def check_email(address: str) -> str:
    if len(address) > 320 or not _EMAIL.fullmatch(address):
        raise ValueError("not an e-mail address (name@domain)")
    return address

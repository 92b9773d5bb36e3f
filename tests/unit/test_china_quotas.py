"""The vendors' day and daily marketing quotas: properties on a simulated Shanghai calendar."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.china.quotas import (
    DEFAULT_QUOTAS,
    QuotaRefused,
    QuotaRule,
    effective_quotas,
    parse_hours,
    quota_decision,
    quota_settings,
)
from pushwise.domain.china.vendors import VENDOR_ZONE, VENDORS, VendorClass, next_vendor_day, vendor_day

instants = st.floats(min_value=1_600_000_000, max_value=2_000_000_000, allow_nan=False)
vendors = st.sampled_from(VENDORS)


def shanghai(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).astimezone(VENDOR_ZONE)


@given(instants)
def test_next_vendor_day_is_the_next_shanghai_midnight(now: float) -> None:
    nxt = next_vendor_day(now)
    assert 0 < nxt - now <= 86_400
    assert shanghai(nxt).time() == time(0, 0)
    assert vendor_day(nxt) != vendor_day(now)
    assert vendor_day(nxt - 1) == vendor_day(now)


def test_shanghai_midnight_is_1600_utc() -> None:
    now = datetime(2026, 12, 7, 15, 59, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(next_vendor_day(now), UTC) == datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


@given(vendors, st.integers(min_value=0, max_value=50), instants)
def test_service_class_is_never_held(vendor: str, sent: int, now: float) -> None:
    assert quota_decision(vendor, DEFAULT_QUOTAS[vendor], VendorClass.SERVICE, sent, now).sends


@given(vendors, instants, st.lists(st.floats(min_value=0, max_value=3600), min_size=1, max_size=40))
def test_a_device_never_gets_more_marketing_than_its_cap_in_one_vendor_day(
    vendor: str, start: float, gaps: list[float]
) -> None:
    """Sending whenever the decision allows it: per Shanghai day, at most the cap, and
    every hold ends strictly later, at a midnight or the start of the sending window."""
    rule = DEFAULT_QUOTAS[vendor]
    sent: dict[str, int] = {}
    now = start
    for gap in gaps:
        now += gap
        day = vendor_day(now)
        decision = quota_decision(vendor, rule, VendorClass.MARKETING, sent.get(day, 0), now)
        if decision.sends:
            sent[day] = sent.get(day, 0) + 1
            if rule.marketing_hours:
                assert rule.marketing_hours[0] <= shanghai(now).time() < rule.marketing_hours[1]
        else:
            assert decision.until is not None
            assert decision.until > now
            assert decision.reason == f"vendor_quota:{vendor}"
            opens = shanghai(decision.until).time()
            assert opens in (time(0, 0), *(rule.marketing_hours or ()))
    assert all(count <= rule.marketing_per_device_day for count in sent.values())


@given(instants)
def test_vivo_marketing_waits_for_seven_oclock(now: float) -> None:
    rule = QuotaRule(2, (time(7, 0), time(23, 0)))
    decision = quota_decision("vivo", rule, VendorClass.MARKETING, 0, now)
    local = shanghai(now).time()
    if time(7, 0) <= local < time(23, 0):
        assert decision.sends
    else:
        assert decision.until is not None
        assert shanghai(decision.until).time() == time(7, 0)
        assert decision.until - now <= 8 * 3600


def test_spent_vivo_quota_reopens_next_day_at_seven() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=VENDOR_ZONE).timestamp()
    decision = quota_decision("vivo", DEFAULT_QUOTAS["vivo"], VendorClass.MARKETING, 2, now)
    assert decision.until == datetime(2026, 12, 8, 7, 0, tzinfo=VENDOR_ZONE).timestamp()


def test_overrides_replace_only_what_they_name() -> None:
    rules = effective_quotas({"huawei": {"marketing_per_device_day": 5}, "vivo": {"marketing_hours": None}})
    assert rules["huawei"] == QuotaRule(5)
    assert rules["vivo"] == QuotaRule(2, None)
    assert rules["oppo"] == DEFAULT_QUOTAS["oppo"]
    assert quota_settings({"vivo": DEFAULT_QUOTAS["vivo"]}) == {
        "vivo": {"marketing_per_device_day": 2, "marketing_hours": "07:00-23:00"}
    }


@pytest.mark.parametrize("hours", ["23:00-07:00", "7-23", "07:00", "10:00-10:00"])
def test_bad_marketing_hours_are_refused(hours: str) -> None:
    with pytest.raises(QuotaRefused):
        parse_hours(hours)

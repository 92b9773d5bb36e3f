"""Send-rate limits per app and per channel, on a manual clock."""

from __future__ import annotations

from pushwise.delivery.rates import RateLimits, SendRates
from pushwise.domain.clock import ManualClock


def test_per_app_limit_paces_marketing_but_not_transactional() -> None:
    clock = ManualClock(start=1000.0)
    rates = SendRates(clock, RateLimits(per_app=1.0, window_seconds=10.0))
    admitted = [rates.admit("a", "apns", transactional=False) for _ in range(12)]
    assert admitted[:10] == [None] * 10
    assert all(wait is not None and wait > clock.now() for wait in admitted[10:])
    assert rates.admit("a", "apns", transactional=True) is None
    assert rates.admit("b", "apns", transactional=False) is None  # another app has its own window


def test_per_channel_limit_holds_everyone_and_frees_up_with_time() -> None:
    clock = ManualClock(start=1000.0)
    rates = SendRates(clock, RateLimits(per_channel={"fcm": 0.5}, window_seconds=10.0))
    assert [rates.admit("a", "fcm", transactional=True) for _ in range(5)] == [None] * 5
    wait = rates.admit("a", "fcm", transactional=True)
    assert wait is not None
    clock.set(wait)
    assert rates.admit("a", "fcm", transactional=True) is None
    assert rates.admit("a", "apns", transactional=False) is None  # no limit on this channel


def test_no_limits_by_default() -> None:
    rates = SendRates(ManualClock(start=0.0))
    assert all(rates.admit("a", "apns", transactional=False) is None for _ in range(1000))

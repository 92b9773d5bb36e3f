"""The vendors' daily marketing quotas as pure arithmetic, ready for the gate to hold.

Each vendor caps marketing-class pushes per device per day (their day: Asia/Shanghai)
and vivo sends marketing only between 07:00 and 23:00 Shanghai time. Service-class
pushes are never capped. The defaults are the vendors' published rules; vendors grant
some apps more, so an app's policy may override them (API.md, "Vendor quotas").

Published defaults (per device and day, for apps without a news licence; news apps get
more), with the date each rule took effect:
- Huawei: 2 (news 5), 2023-01-05 [docs.getui.com/getui/mobile/vendor/qps; Huawei message-classification]
- Honor: 2 (news 5), 2023-02-01 per Getui, 2024-12-31 per Tencent Cloud 269/130977 (conflicting)
- Xiaomi: 5 (8 with a news licence), 2023-02-01 [dev.mi.com pId=1656]
- OPPO: 2 (news 5), 2024-11-20 [docs.getui.com …/vendor/qps; Tencent Cloud 269/130977]
- vivo: 2 (news 5), 2023-04-03, sent only 07:00-23:00 [JPush android_3rd_qps; Aliyun 616229]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pushwise.domain.china.vendors import VENDOR_ZONE, VendorClass, next_vendor_day


@dataclass(frozen=True, slots=True)
class QuotaRule:
    marketing_per_device_day: int
    marketing_hours: tuple[time, time] | None = None  # [start, end) in Shanghai time


DEFAULT_QUOTAS: dict[str, QuotaRule] = {
    "huawei": QuotaRule(2),
    "honor": QuotaRule(2),
    "xiaomi": QuotaRule(5),
    "oppo": QuotaRule(2),
    "vivo": QuotaRule(2, (time(7, 0), time(23, 0))),
}


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    """`until` None: send now; else not before `until` (reason `vendor_quota:<vendor>`)."""

    until: float | None
    reason: str | None = None

    @property
    def sends(self) -> bool:
        return self.until is None


SEND = QuotaDecision(None)


def quota_decision(
    vendor: str, rule: QuotaRule, vendor_class: VendorClass, sent_today: int, now: float
) -> QuotaDecision:
    """Whether one more push of `vendor_class` may go to a device that had `sent_today`
    marketing pushes from this vendor during the current Shanghai day."""
    if vendor_class is VendorClass.SERVICE:
        return SEND
    reason = f"vendor_quota:{vendor}"
    if sent_today >= rule.marketing_per_device_day:
        return QuotaDecision(_window_open(rule, next_vendor_day(now)), reason)
    opens = _window_open(rule, now)
    return SEND if opens == now else QuotaDecision(opens, reason)


def _window_open(rule: QuotaRule, at: float) -> float:
    """`at` when marketing may go then, else the next start of the window."""
    if rule.marketing_hours is None:
        return at
    start, end = rule.marketing_hours
    local = datetime.fromtimestamp(at, UTC).astimezone(VENDOR_ZONE)
    if start <= local.time() < end:
        return at
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=VENDOR_ZONE).timestamp()


class QuotaRefused(ValueError):
    """A vendor quota override that cannot be right (unknown vendor, bad hours)."""


def parse_hours(text: str) -> tuple[time, time]:
    """`"07:00-23:00"`: the Shanghai hours marketing may go, start before end."""
    try:
        start_text, end_text = text.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError as error:
        raise QuotaRefused(f"marketing_hours is HH:MM-HH:MM, got {text!r}") from error
    if start >= end:
        raise QuotaRefused("marketing_hours must start before they end (Shanghai time, same day)")
    return start, end


def effective_quotas(overrides: Mapping[str, Mapping[str, Any]]) -> dict[str, QuotaRule]:
    """The vendors' published defaults with an app's overrides (vendors grant some apps more)."""
    rules = dict(DEFAULT_QUOTAS)
    for vendor, override in overrides.items():
        if vendor not in rules:
            raise QuotaRefused(f"unknown vendor {vendor!r}")
        rule = rules[vendor]
        cap = override.get("marketing_per_device_day")
        hours = override.get("marketing_hours", ...)
        rules[vendor] = QuotaRule(
            rule.marketing_per_device_day if cap is None else int(cap),
            rule.marketing_hours if hours is ... else (parse_hours(hours) if hours else None),
        )
    return rules


def quota_settings(rules: Mapping[str, QuotaRule]) -> dict[str, dict[str, Any]]:
    """How the policy shows the rules: `{"marketing_per_device_day", "marketing_hours"}` per vendor."""
    return {
        vendor: {
            "marketing_per_device_day": rule.marketing_per_device_day,
            "marketing_hours": (
                f"{rule.marketing_hours[0]:%H:%M}-{rule.marketing_hours[1]:%H:%M}"
                if rule.marketing_hours
                else None
            ),
        }
        for vendor, rule in rules.items()
    }

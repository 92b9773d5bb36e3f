"""Vendor alert rules: quota-spent answers per vendor, throttling in the vendors' own codes."""

from __future__ import annotations

from pushwise.monitoring.rules import DEFAULT_RULES, Signals, judge
from pushwise.store.rollups import BucketCount, RollupKey

NOW = 1_800_000_000.0


def rule(name: str):  # type: ignore[no-untyped-def]
    return next(r for r in DEFAULT_RULES if r.name == name)


def test_quota_spent_answers_fire_per_vendor() -> None:
    buckets = [
        BucketCount(int(NOW) - 100, RollupKey("app", "xiaomi", "quota", "quota_spent", "xiaomi:10034"), 150),
        BucketCount(int(NOW) - 100, RollupKey("app", "oppo", "quota", "quota_spent", "oppo:33"), 3),
        BucketCount(int(NOW) - 7200, RollupKey("app", "vivo", "quota", "quota_spent", "x"), 999),  # too old
    ]
    findings = {f.subject: f for f in judge(rule("vendor_quota_spent"), Signals(NOW, buckets))}
    assert set(findings) == {"xiaomi", "oppo"}
    assert findings["xiaomi"].holding is True
    assert findings["oppo"].holding is False


def test_vendor_flow_control_is_a_reason_spike() -> None:
    def attempts(reason: str, outcome: str, count: int) -> BucketCount:
        return BucketCount(int(NOW) - 10, RollupKey("app", "oppo", "attempt", outcome, reason), count)

    signals = Signals(NOW, [attempts("oppo:-2", "retry", 8), attempts("", "delivered", 12)])
    (finding,) = judge(rule("vendor_throttled_or_unavailable"), signals)
    assert (finding.subject, finding.holding) == ("oppo", True)

"""Alert rules judge a moment's signals: defaults, overrides, and each rule kind."""

from __future__ import annotations

import pytest

from pushwise.monitoring.rules import (
    DEFAULT_RULES,
    CredentialStatus,
    RuleError,
    Signals,
    effective_rules,
    judge,
    parse_rules,
)
from pushwise.store.rollups import BucketCount, QueueGauge, RollupKey

NOW = 1_800_000_000.0
RULES = {rule.name: rule for rule in DEFAULT_RULES}


def attempts(
    outcome: str, count: int, reason: str = "", *, ago: float = 5, event: str = "attempt"
) -> BucketCount:
    bucket = int((NOW - ago) // 10 * 10)
    return BucketCount(bucket, RollupKey("app", "apns", event, outcome, reason), count)


def test_success_rate_fires_below_threshold_and_ignores_dead_tokens() -> None:
    rule = RULES["success_rate"]
    failing = Signals(NOW, [attempts("delivered", 2), attempts("retry", 8, "ServiceUnavailable")])
    [finding] = judge(rule, failing)
    assert (finding.subject, finding.holding, finding.value) == ("apns", True, 0.2)
    healthy = Signals(NOW, [attempts("delivered", 9), attempts("token_dead", 30, "Unregistered")])
    assert judge(rule, healthy)[0].holding is False


def test_too_little_traffic_or_old_buckets_cannot_be_judged() -> None:
    rule = RULES["success_rate"]
    assert judge(rule, Signals(NOW, [attempts("retry", 4, "ServiceUnavailable")]))[0].holding is None
    old = Signals(NOW, [attempts("retry", 50, "ServiceUnavailable", ago=120)])
    assert judge(rule, old) == []


def test_reason_spike_counts_only_the_named_reasons() -> None:
    rule = RULES["throttled_or_unavailable"]
    signals = Signals(NOW, [attempts("delivered", 70), attempts("retry", 30, "TooManyRequests")])
    assert judge(rule, signals)[0].holding is True
    other = Signals(NOW, [attempts("delivered", 70), attempts("permanent", 30, "BadTopic")])
    assert judge(rule, other)[0].holding is False


def test_dead_token_surge_compares_pruned_tokens_with_attempts() -> None:
    rule = RULES["dead_token_surge"]
    signals = Signals(
        NOW,
        [
            attempts("delivered", 60),
            attempts("token_dead", 40, "Unregistered"),
            attempts("token_dead", 40, "Unregistered", event="pruned"),
        ],
    )
    assert judge(rule, signals)[0].value == 0.4


def test_queue_lag_circuit_and_credentials() -> None:
    lagging = Signals(NOW, [], queues=[QueueGauge("app", "apns", 12, NOW - 300)])
    assert judge(RULES["queue_lag"], lagging)[0].value == 300
    circuits = judge(RULES["circuit_open"], Signals(NOW, [], circuits={"apns": "open", "fcm": "closed"}))
    assert [(f.subject, f.holding) for f in circuits] == [("apns", True), ("fcm", False)]
    soon = CredentialStatus("apns", "expiring", "certificate", NOW + 3 * 86400)
    later = CredentialStatus("fcm", "ok", "service account", None)
    findings = judge(RULES["credentials"], Signals(NOW, [], credentials=[soon, later]))
    assert [(f.subject, f.holding) for f in findings] == [("apns", True), ("fcm", False)]


def test_overrides_keep_the_defaults_for_fields_not_given() -> None:
    [rule] = parse_rules([{"name": "success_rate", "threshold": 0.95}])
    assert (rule.kind, rule.threshold, rule.window_seconds) == ("success_rate", 0.95, 30)
    rules = effective_rules([*parse_rules([{"name": "queue_lag", "enabled": False}]), rule])
    assert "queue_lag" not in {r.name for r in rules}
    assert next(r for r in rules if r.name == "success_rate").threshold == 0.95


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "mystery", "threshold": 1},
        {"name": "success_rate", "window_seconds": 1},
        {"name": "success_rate", "colour": "red"},
    ],
)
def test_invalid_rules_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(RuleError):
        parse_rules([raw])

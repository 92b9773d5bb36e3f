"""Parsing and drawing of the APNs simulator's fault configuration."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pushwise.simulators.apns.faults import FaultConfigError, parse_faults


def test_defaults_inject_nothing() -> None:
    faults = parse_faults(None)
    assert faults.injected_reason(random.Random(0)) is None
    assert faults.latency_s(random.Random(0)) == 0.0
    assert not faults.needs_connection_control


@pytest.mark.parametrize(
    "raw",
    [
        {"reasons": {"NoSuchReason": 0.1}},
        {"reasons": {"TooManyRequests": 0.7, "ServiceUnavailable": 0.4}},
        {"drop_connection_rate": 1.5},
        {"goaway_after_streams": 0},
        {"latency_ms": {"min": 5, "max": 1}},
        {"latncy_ms": {"min": 1, "max": 5}},
    ],
)
def test_bad_configurations_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(FaultConfigError):
        parse_faults(raw)


def test_reason_draws_follow_the_probabilities_and_repeat_with_the_seed() -> None:
    faults = parse_faults(
        {"reasons": {"ServiceUnavailable": 0.2, "Unregistered": 0.1, "BadDeviceToken": 0.0}}
    )
    draws = [faults.injected_reason(random.Random(7)) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    rng = random.Random(1)
    counts = Counter(faults.injected_reason(rng) for _ in range(10_000))
    assert set(counts) == {None, "ServiceUnavailable", "Unregistered"}
    assert 1800 < counts["ServiceUnavailable"] < 2200
    assert 800 < counts["Unregistered"] < 1200


def test_dead_tokens_by_list_and_by_prefix() -> None:
    faults = parse_faults({"dead_tokens": ["ab" * 32], "dead_token_prefix": "DEAD"})
    assert faults.is_dead("ab" * 32)
    assert faults.is_dead("dead" + "00" * 30)
    assert faults.is_dead("DEAD" + "00" * 30)
    assert not faults.is_dead("cd" * 32)


def test_latency_stays_within_bounds() -> None:
    faults = parse_faults({"latency_ms": {"min": 10, "max": 20}})
    rng = random.Random(3)
    assert all(0.010 <= faults.latency_s(rng) <= 0.020 for _ in range(100))


def test_connection_faults_are_flagged() -> None:
    assert parse_faults({"goaway_after_streams": 5}).needs_connection_control
    assert parse_faults({"drop_connection_rate": 0.1}).needs_connection_control


def test_round_trip_through_dict() -> None:
    raw = {
        "reasons": {"TooManyRequests": 0.5},
        "retry_after_seconds": 3,
        "latency_ms": {"min": 1.0, "max": 2.0},
    }
    assert parse_faults(parse_faults(raw).to_dict()) == parse_faults(raw)

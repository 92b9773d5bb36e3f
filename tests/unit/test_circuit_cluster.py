"""Circuits across processes: the cluster's worst view and adopting another process's hold."""

from __future__ import annotations

from pushwise.delivery.circuits import CircuitBoard
from pushwise.domain.circuit import (
    Circuit,
    CircuitPolicy,
    CircuitReport,
    CircuitState,
    admit,
    adopt,
    holds,
    observe,
    worst,
)
from pushwise.domain.clock import ManualClock
from pushwise.domain.outcomes import Outcome, OutcomeKind, delivered

POLICY = CircuitPolicy(failure_threshold=3, open_seconds=5.0, max_open_seconds=40.0, probe_seconds=2.0)
OPEN, HALF_OPEN, CLOSED = CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED


def report(
    owner: str,
    state: CircuitState,
    *,
    until: float = 0.0,
    updated_at: float = 100.0,
    channel: str = "apns",
    reason: str | None = "BadTopic",
) -> CircuitReport:
    return CircuitReport(owner, "app_1", channel, state, reason, 90.0, until, updated_at)


def test_the_cluster_sees_the_worst_state_of_any_process() -> None:
    merged = worst(
        [
            report("api", CLOSED),
            report("w1", HALF_OPEN, until=102.0),
            report("w2", OPEN, until=110.0),
            report("w3", OPEN, until=120.0),
            report("w1", CLOSED, channel="fcm"),
        ]
    )
    assert {key: (r.state, r.owner) for key, r in merged.items()} == {
        ("app_1", "apns"): (OPEN, "w3"),  # among equals, the longest hold
        ("app_1", "fcm"): (CLOSED, "w1"),
    }


def test_holds_are_other_processes_open_circuits_still_cooling_down() -> None:
    reports = [
        report("me", OPEN, until=130.0),  # our own: nothing to adopt
        report("w1", OPEN, until=110.0),
        report("w2", HALF_OPEN, until=140.0),  # probing: not a reason to hold
        report("w3", OPEN, until=99.0, channel="fcm"),  # cool-down over
    ]
    assert {key: r.owner for key, r in holds(reports, "me", 100.0).items()} == {("app_1", "apns"): "w1"}


def test_a_closed_circuit_adopts_the_hold_and_probes_for_itself_afterwards() -> None:
    counting = observe(Circuit(), OutcomeKind.RETRY, "ServiceUnavailable", 99.0, POLICY)
    held = adopt(counting, report("w1", OPEN, until=110.0), 100.0)
    assert (held.state, held.until, held.reason, held.adopted, held.failures) == (
        OPEN,
        110.0,
        "BadTopic",
        True,
        1,
    )
    assert admit(held, 109.0, POLICY) == (held, 110.0)
    probing, wait = admit(held, 110.0, POLICY)
    assert (probing.state, wait) == (HALF_OPEN, None)
    assert observe(probing, OutcomeKind.DELIVERED, "", 110.5, POLICY) == Circuit()


def test_a_longer_hold_extends_an_adopted_circuit_but_never_our_own() -> None:
    held = adopt(Circuit(), report("w1", OPEN, until=110.0), 100.0)
    assert adopt(held, report("w2", OPEN, until=120.0), 101.0).until == 120.0
    assert adopt(held, report("w2", OPEN, until=105.0), 101.0) is held
    own = observe(Circuit(), OutcomeKind.CONFIGURATION, "BadTopic", 100.0, POLICY)
    assert adopt(own, report("w1", OPEN, until=200.0), 101.0) is own
    assert adopt(Circuit(), report("w1", OPEN, until=100.0), 100.0) == Circuit()  # already over


def test_a_failed_probe_after_adopting_opens_a_circuit_of_our_own() -> None:
    held = adopt(Circuit(), report("w1", OPEN, until=110.0), 100.0)
    probing, _ = admit(held, 110.0, POLICY)
    reopened = observe(probing, OutcomeKind.RETRY, "ServiceUnavailable", 111.0, POLICY)
    assert (reopened.state, reopened.adopted, reopened.opened_at, reopened.until) == (
        OPEN,
        False,
        111.0,
        116.0,
    )


def test_the_board_reports_its_own_circuits_only_and_holds_what_it_adopts() -> None:
    clock = ManualClock(start=100.0)
    board = CircuitBoard(clock, POLICY)
    board.observe(("app_1", "fcm"), Outcome(OutcomeKind.CONFIGURATION, "THIRD_PARTY_AUTH_ERROR"))
    board.adopt({("app_1", "apns"): report("w1", OPEN, until=110.0)})
    board.adopt({("app_1", "webpush"): report("w1", OPEN, until=90.0, channel="webpush")})  # over: ignored
    assert board.states() == {("app_1", "fcm"): "open", ("app_1", "apns"): "open"}
    assert board.admit(("app_1", "apns")) == 110.0
    (own,) = board.reports("me")
    assert (own.owner, own.key, own.state, own.reason, own.opened_at, own.until, own.updated_at) == (
        "me",
        ("app_1", "fcm"),
        OPEN,
        "THIRD_PARTY_AUTH_ERROR",
        100.0,
        105.0,
        100.0,
    )
    clock.advance(10)
    assert board.admit(("app_1", "apns")) is None  # the probe of this process
    board.observe(("app_1", "apns"), delivered())
    assert ("app_1", "apns") not in board.states()

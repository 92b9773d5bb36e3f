"""The circuit breaker state machine (pure, on explicit times)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.circuit import Circuit, CircuitPolicy, CircuitState, admit, observe
from pushwise.domain.outcomes import OutcomeKind

POLICY = CircuitPolicy(failure_threshold=3, open_seconds=5.0, max_open_seconds=40.0, probe_seconds=2.0)


def failures(n: int, circuit: Circuit | None = None, now: float = 0.0) -> Circuit:
    circuit = circuit or Circuit()
    for _ in range(n):
        circuit = observe(circuit, OutcomeKind.RETRY, "ServiceUnavailable", now, POLICY)
    return circuit


def test_opens_after_the_threshold_of_retryable_failures_in_a_row() -> None:
    assert failures(2).state is CircuitState.CLOSED
    opened = failures(3)
    assert (opened.state, opened.until, opened.reason) == (CircuitState.OPEN, 5.0, "ServiceUnavailable")


def test_a_success_resets_the_count() -> None:
    circuit = observe(failures(2), OutcomeKind.DELIVERED, "", 0.0, POLICY)
    assert failures(2, circuit).state is CircuitState.CLOSED


def test_configuration_error_opens_at_once() -> None:
    opened = observe(Circuit(), OutcomeKind.CONFIGURATION, "BadTopic", 1.0, POLICY)
    assert (opened.state, opened.until, opened.reason) == (CircuitState.OPEN, 6.0, "BadTopic")


def test_open_holds_sends_until_the_cool_down_then_lets_one_probe_through() -> None:
    opened = failures(3)
    assert admit(opened, 4.9, POLICY) == (opened, 5.0)
    probing, wait = admit(opened, 5.0, POLICY)
    assert wait is None
    assert probing.state is CircuitState.HALF_OPEN
    assert admit(probing, 6.0, POLICY)[1] == 7.0  # the others wait for the probe
    assert admit(probing, 7.0, POLICY)[1] is None  # a lost probe does not hold it forever


def test_failed_probe_reopens_with_a_longer_cool_down_and_success_closes() -> None:
    probing, _ = admit(failures(3), 5.0, POLICY)
    reopened = observe(probing, OutcomeKind.RETRY, "Timeout", 5.5, POLICY)
    assert (reopened.state, reopened.until) == (CircuitState.OPEN, 15.5)
    probing, _ = admit(reopened, 15.5, POLICY)
    assert observe(probing, OutcomeKind.DELIVERED, "", 16.0, POLICY) == Circuit()


def test_late_failures_of_sends_made_before_it_opened_do_not_extend_it() -> None:
    opened = failures(3)
    assert failures(10, opened, now=1.0).until == opened.until


KINDS = st.sampled_from(list(OutcomeKind))
EVENTS = st.lists(st.tuples(st.booleans(), KINDS, st.floats(0, 50)), max_size=60)


@given(EVENTS)
def test_properties_hold_for_any_history(events: list[tuple[bool, OutcomeKind, float]]) -> None:
    circuit, now = Circuit(), 0.0
    for is_admit, kind, step in events:
        now += step
        if is_admit:
            before = circuit
            circuit, wait = admit(circuit, now, POLICY)
            # A closed circuit never holds; a held send is told a time in the future.
            if before.state is CircuitState.CLOSED:
                assert wait is None
            if wait is not None:
                assert wait > now
                assert circuit.state is not CircuitState.CLOSED
        else:
            circuit = observe(circuit, kind, "r", now, POLICY)
            if kind in (OutcomeKind.DELIVERED, OutcomeKind.TOKEN_DEAD, OutcomeKind.PERMANENT):
                assert circuit == Circuit()
            if kind is OutcomeKind.CONFIGURATION:
                assert circuit.state is CircuitState.OPEN
        # The cool-down never exceeds its cap, and a closed circuit is never past its threshold.
        if circuit.state is CircuitState.OPEN:
            assert circuit.until - now <= POLICY.max_open_seconds + 1e-9  # float rounding of now + cap
        if circuit.state is CircuitState.CLOSED:
            assert circuit.failures < POLICY.failure_threshold


@given(st.integers(1, 30))
def test_cool_down_grows_and_is_capped(trips: int) -> None:
    assert POLICY.cool_down(trips) <= POLICY.max_open_seconds
    assert POLICY.cool_down(trips + 1) >= POLICY.cool_down(trips)

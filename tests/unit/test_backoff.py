import random

from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.backoff import RetryPolicy, backoff_delay, decide_retry

POLICY = RetryPolicy(base_seconds=1.0, cap_seconds=300.0, max_attempts=6)


@given(attempts=st.integers(min_value=1, max_value=40), seed=st.integers(min_value=0, max_value=2**32))
def test_full_jitter_stays_within_the_exponential_ceiling(attempts: int, seed: int) -> None:
    delay = backoff_delay(attempts, POLICY, random.Random(seed))
    assert 0.0 <= delay <= min(POLICY.cap_seconds, POLICY.base_seconds * 2 ** (attempts - 1))


def test_same_seed_same_schedule() -> None:
    first = [backoff_delay(n, POLICY, random.Random(7)) for n in range(1, 6)]
    second = [backoff_delay(n, POLICY, random.Random(7)) for n in range(1, 6)]
    assert first == second


@given(
    attempts=st.integers(min_value=1, max_value=5),
    retry_after=st.floats(min_value=0, max_value=10_000, allow_nan=False),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_retry_after_is_a_floor(attempts: int, retry_after: float, seed: int) -> None:
    decision = decide_retry(
        attempts_made=attempts,
        now=1000.0,
        expires_at=None,
        retry_after=retry_after,
        policy=POLICY,
        rng=random.Random(seed),
    )
    assert decision.retry_at is not None
    assert decision.retry_at >= 1000.0 + retry_after


def test_gives_up_after_the_last_attempt() -> None:
    decision = decide_retry(
        attempts_made=6, now=0.0, expires_at=None, retry_after=None, policy=POLICY, rng=random.Random(1)
    )
    assert decision.gives_up
    assert decision.give_up_reason == "max_attempts"


def test_gives_up_when_the_next_try_would_land_after_expiry() -> None:
    decision = decide_retry(
        attempts_made=1, now=100.0, expires_at=150.0, retry_after=60.0, policy=POLICY, rng=random.Random(1)
    )
    assert decision.gives_up
    assert decision.give_up_reason == "expired"


@given(
    expires_in=st.floats(min_value=0.001, max_value=1e6),
    seed=st.integers(0, 1000),
    attempts=st.integers(1, 5),
)
def test_never_schedules_past_expiry(expires_in: float, seed: int, attempts: int) -> None:
    decision = decide_retry(
        attempts_made=attempts,
        now=0.0,
        expires_at=expires_in,
        retry_after=None,
        policy=POLICY,
        rng=random.Random(seed),
    )
    assert decision.gives_up or (decision.retry_at is not None and decision.retry_at < expires_in)

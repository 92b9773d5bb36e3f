import random

import pytest

from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.domain.progress import after_attempt
from pushwise.domain.states import DeliveryState

POLICY = RetryPolicy(base_seconds=1.0, cap_seconds=60.0, max_attempts=3)


def progress(outcome: Outcome, attempts: int = 1, expires_at: float | None = None):
    return after_attempt(
        outcome, attempts_made=attempts, now=100.0, expires_at=expires_at, policy=POLICY, rng=random.Random(3)
    )


def test_delivered_is_final_without_a_reason() -> None:
    result = progress(Outcome(OutcomeKind.DELIVERED, provider_status=200))
    assert (result.state, result.due_at, result.reason) == (DeliveryState.DELIVERED, None, None)


def test_dead_token_fails_and_prunes_the_device() -> None:
    result = progress(Outcome(OutcomeKind.TOKEN_DEAD, "Unregistered", 410))
    assert result.state is DeliveryState.FAILED
    assert result.deactivate_device
    assert result.reason == "Unregistered"


@pytest.mark.parametrize("kind", [OutcomeKind.RETRY, OutcomeKind.REFRESH_CREDENTIALS])
def test_retryable_outcomes_schedule_another_try(kind: OutcomeKind) -> None:
    result = progress(Outcome(kind, "ServiceUnavailable", 503, retry_after=30.0))
    assert result.state is DeliveryState.RETRYING
    assert result.due_at is not None
    assert result.due_at >= 130.0
    assert not result.deactivate_device


def test_retry_budget_spent_dead_letters_with_the_last_reason() -> None:
    result = progress(Outcome(OutcomeKind.RETRY, "InternalServerError", 500), attempts=3)
    assert (result.state, result.reason) == (DeliveryState.FAILED, "InternalServerError")


def test_retry_that_would_outlive_the_ttl_expires() -> None:
    result = progress(Outcome(OutcomeKind.RETRY, "TooManyRequests", 429, retry_after=500.0), expires_at=200.0)
    assert result.state is DeliveryState.EXPIRED


@pytest.mark.parametrize("kind", [OutcomeKind.CONFIGURATION, OutcomeKind.PERMANENT])
def test_unretryable_outcomes_fail_at_once(kind: OutcomeKind) -> None:
    result = progress(Outcome(kind, "BadTopic", 400))
    assert result.state is DeliveryState.FAILED
    assert not result.deactivate_device

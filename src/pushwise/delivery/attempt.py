"""One send attempt: past the provider's circuit, with smaller content when the payload is too large.

Kept apart from the batch loop so the worker only claims, hands out and records.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from pushwise.delivery.circuits import CircuitBoard
from pushwise.domain.fallback_content import is_too_large, smaller_specs
from pushwise.domain.outcomes import Outcome, OutcomeKind
from pushwise.domain.values import frozen_value
from pushwise.providers.base import Dispatch, Provider

log = logging.getLogger(__name__)


@frozen_value
class AttemptResult:
    outcome: Outcome
    content: str | None = None  # "fallback_content" or "shortened" when the original did not fit


async def attempt(provider: Provider, dispatch: Dispatch, circuits: CircuitBoard) -> AttemptResult:
    """Send once; on PayloadTooLarge walk the content ladder. The circuit learns the final answer."""
    outcome = await _send(provider, dispatch)
    used: str | None = None
    if is_too_large(outcome):
        for label, smaller in smaller_specs(dispatch.spec):
            outcome = await _send(provider, replace(dispatch, spec=smaller))
            used = label
            if not is_too_large(outcome):
                break
    circuits.observe((dispatch.app_id, dispatch.channel), outcome)
    return AttemptResult(outcome, used)


async def _send(provider: Provider, dispatch: Dispatch) -> Outcome:
    try:
        return await provider.send(dispatch)
    except Exception:  # a provider bug must not lose the batch: retry it later
        log.exception("provider %s raised for delivery %s", dispatch.channel, dispatch.delivery_id)
        return Outcome(OutcomeKind.RETRY, "ProviderError")

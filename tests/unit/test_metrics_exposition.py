"""Counting outcomes and rendering them in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

from pushwise.delivery.worker import Recorded
from pushwise.domain.states import DeliveryState
from pushwise.monitoring.exposition import ClusterSnapshot, render
from pushwise.monitoring.tally import OutcomeTally
from pushwise.store.queue import ClaimedDelivery, DeliveryUpdate
from pushwise.store.rollups import QueueGauge, RollupKey


class MemoryRollups:
    """Keeps what a flush adds, as the database would."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, RollupKey], tuple[int, float]] = {}
        self.totals: dict[tuple[str, str], float] = {}

    async def add(
        self,
        counts: Mapping[tuple[int, RollupKey], tuple[int, float]],
        totals: Mapping[tuple[str, str], float],
    ) -> None:
        self.counts.update(counts)
        for key, value in totals.items():
            self.totals[key] = self.totals.get(key, 0.0) + value


def recorded(
    state: DeliveryState, outcome: str | None, reason: str | None, *, dead: bool = False, replays: int = 0
) -> Recorded:
    claimed = ClaimedDelivery(
        1, "ntf", "app", "dev", None, "apns", 0, replays, 100.0, "tok", None, True, None
    )
    update = DeliveryUpdate(
        1, state, 1, None, reason, attempt_outcome=outcome, device_to_deactivate="dev" if dead else None
    )
    return Recorded(claimed, update, 102.5)


def scrape(snapshot: ClusterSnapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(render(snapshot).decode())
        for s in family.samples
    }


async def test_tally_counts_attempts_retries_outcomes_latency_and_pruning() -> None:
    rollups = MemoryRollups()
    tally = OutcomeTally(rollups)  # type: ignore[arg-type]
    await tally.recorded(
        [
            recorded(DeliveryState.RETRYING, "retry", "ServiceUnavailable"),
            recorded(DeliveryState.DELIVERED, "delivered", None),
            recorded(DeliveryState.FAILED, "token_dead", "Unregistered", dead=True),
        ]
    )
    tally.provider_request("app", "apns", 0.02)
    await tally.flush()
    await tally.flush()  # nothing buffered: adds nothing twice
    samples = scrape(
        ClusterSnapshot(
            totals=[(name, labels, value) for (name, labels), value in sorted(rollups.totals.items())],
            queues=[QueueGauge("app", "apns", 4, 90.0)],
            circuits={("app", "apns"): "open"},
            credentials=[],
            firing_alerts={("app", "success_rate"): 1},
            now=100.0,
        )
    )
    base = (("app", "app"), ("channel", "apns"))
    assert samples[("pushwise_retries_total", (*base, ("reason", "ServiceUnavailable")))] == 1
    assert samples[("pushwise_attempts_total", (*base, ("outcome", "delivered"), ("reason", "")))] == 1
    assert (
        samples[("pushwise_deliveries_total", (*base, ("outcome", "failed"), ("reason", "Unregistered")))]
        == 1
    )
    assert samples[("pushwise_tokens_pruned_total", (*base, ("reason", "Unregistered")))] == 1
    assert samples[("pushwise_dead_letters_total", (*base, ("reason", "Unregistered")))] == 1
    assert samples[("pushwise_delivery_latency_seconds_count", base)] == 2
    assert samples[("pushwise_delivery_latency_seconds_sum", base)] == 5.0
    assert samples[("pushwise_delivery_latency_seconds_bucket", (*base, ("le", "1.0")))] == 0
    assert samples[("pushwise_delivery_latency_seconds_bucket", (*base, ("le", "2.5")))] == 2
    assert samples[("pushwise_provider_request_seconds_count", base)] == 1
    assert samples[("pushwise_queue_oldest_due_age_seconds", base)] == 10
    assert samples[("pushwise_circuit_state", (*base, ("state", "open")))] == 1
    assert samples[("pushwise_alerts_firing", (("app", "app"), ("rule", "success_rate")))] == 1
    assert {key.event for _, key in rollups.counts} == {"attempt", "final", "pruned"}


async def test_a_replayed_delivery_is_counted_once_and_its_next_outcome_apart() -> None:
    """Failed, replayed, delivered: one delivery in `deliveries_total`, its replay and outcome beside it."""
    rollups = MemoryRollups()
    tally = OutcomeTally(rollups)  # type: ignore[arg-type]
    await tally.recorded([recorded(DeliveryState.FAILED, "permanent", "PayloadTooLarge")])
    tally.replayed("app", {"apns": 1})
    await tally.recorded([recorded(DeliveryState.DELIVERED, "delivered", None, replays=1)])
    await tally.flush()
    samples = scrape(
        ClusterSnapshot(
            totals=[(name, labels, value) for (name, labels), value in sorted(rollups.totals.items())],
            queues=[],
            circuits={},
            credentials=[],
            firing_alerts={},
            now=100.0,
        )
    )
    base = (("app", "app"), ("channel", "apns"))
    failed = (*base, ("outcome", "failed"), ("reason", "PayloadTooLarge"))
    assert {k: v for k, v in samples.items() if k[0] == "pushwise_deliveries_total"} == {
        ("pushwise_deliveries_total", failed): 1
    }
    assert samples[("pushwise_dead_letters_total", (*base, ("reason", "PayloadTooLarge")))] == 1
    assert samples[("pushwise_delivery_latency_seconds_count", base)] == 1
    assert samples[("pushwise_replays_total", base)] == 1
    assert samples[("pushwise_replayed_outcomes_total", (*base, ("outcome", "delivered")))] == 1
    assert samples[("pushwise_attempts_total", (*base, ("outcome", "delivered"), ("reason", "")))] == 1
    assert {key.event for _, key in rollups.counts} == {"attempt", "final", "replayed"}

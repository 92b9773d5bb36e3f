"""Counting every committed outcome: in memory per process, added to the database in one write.

The delivery worker calls `recorded` after each committed batch; counting there is
a few dictionary updates. `flush` (every few seconds, and on shutdown) adds the
counts to the cluster-wide rollups and totals that `/metrics`, the dashboard and
the alert rules read, so every process sees the whole cluster.

Counters follow Prometheus semantics: they only go up, and each delivery is
counted once in `pushwise_deliveries_total` (and the dead letters and the
accept-to-outcome latency), at its first final outcome. A delivery an operator
replays from the dead letters counts in `pushwise_replays_total` when replayed
and, at its next final outcome, in `pushwise_replayed_outcomes_total`. Attempts
are counted as they happen, replayed or not. The gate's decisions to hold a delivery back
(suppress, defer) count in `pushwise_gate_decisions_total` as they are taken; what it lets
through shows in the attempts.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence

import orjson

from pushwise.delivery.worker import Recorded
from pushwise.domain.states import FINAL_STATES, DeliveryState
from pushwise.store.rollups import RollupKey, RollupRepository

log = logging.getLogger(__name__)

# Accept-to-outcome spans retries with backoff, so its buckets reach into hours.
DELIVERY_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)
PROVIDER_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

ATTEMPTS = "pushwise_attempts_total"
RETRIES = "pushwise_retries_total"
DELIVERIES = "pushwise_deliveries_total"
DEAD_LETTERS = "pushwise_dead_letters_total"
PRUNED = "pushwise_tokens_pruned_total"
REPLAYS = "pushwise_replays_total"
REPLAYED_OUTCOMES = "pushwise_replayed_outcomes_total"
GATE_DECISIONS = "pushwise_gate_decisions_total"
DELIVERY_LATENCY = "pushwise_delivery_latency_seconds"
PROVIDER_LATENCY = "pushwise_provider_request_seconds"
# A phone maker refused a push because a daily quota was spent: not an attempt, counted apart.
VENDOR_QUOTA_SPENT = "pushwise_vendor_quota_spent_total"
_BUCKETS = {DELIVERY_LATENCY: DELIVERY_LATENCY_BUCKETS, PROVIDER_LATENCY: PROVIDER_LATENCY_BUCKETS}
_SLOTS = max(len(bounds) for bounds in _BUCKETS.values()) + 2  # every bound, +Inf, and the sum

Labels = tuple[tuple[str, str], ...]
# What a batch's outcomes are grouped by before counting: second, app, channel, reason, state,
# attempt outcome, replayed, gate decision, vendor quota spent, token pruned.
_Group = tuple[int, str, str, str, DeliveryState, str | None, bool, str | None, bool, bool]


def _new_observation() -> list[float]:
    return [0.0] * _SLOTS


def labels_key(**labels: str) -> str:
    """The canonical spelling of a label set, used as part of a totals row's key."""
    return orjson.dumps(labels, option=orjson.OPT_SORT_KEYS).decode()


class OutcomeTally:
    """An `OutcomeListener` that buffers counts until `flush`."""

    def __init__(self, rollups: RollupRepository) -> None:
        self._rollups = rollups
        self._counts: defaultdict[tuple[int, RollupKey], list[float]] = defaultdict(lambda: [0, 0.0])
        self._totals: defaultdict[tuple[str, str], float] = defaultdict(float)
        self._pending: defaultdict[tuple[str, Labels], float] = defaultdict(float)
        self._observations: defaultdict[tuple[str, Labels], list[float]] = defaultdict(_new_observation)

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        """Count a committed batch: its outcomes grouped first, so the counters are touched once per
        distinct outcome (a campaign's batch is mostly one), not once per delivery."""
        groups: dict[_Group, list[float]] = {}
        latencies: dict[tuple[str, str], list[float]] = {}
        for item in batch:
            claimed, update = item.claimed, item.update
            final_first = update.state in FINAL_STATES and not claimed.replays
            group = (
                int(item.at),
                claimed.app_id,
                claimed.channel,
                update.reason or "",
                update.state,
                update.attempt_outcome,
                bool(claimed.replays),
                update.decision,
                update.quota_spent,
                update.device_to_deactivate is not None,
            )
            slot = groups.get(group)
            if slot is None:
                slot = groups[group] = [0, 0.0]
            slot[0] += 1
            if final_first:
                latency = max(0.0, item.at - claimed.accepted_at)
                slot[1] += latency
                latencies.setdefault((claimed.app_id, claimed.channel), []).append(latency)
        for group, (count, latency_sum) in groups.items():
            self._count(group, count, latency_sum)
        for (app, channel), values in latencies.items():
            self._observe_all(DELIVERY_LATENCY, values, (("app", app), ("channel", channel)))

    def _count(self, group: _Group, n: float, latency_sum: float) -> None:
        second, app, channel, reason, state, attempt_outcome, replayed, decision, quota, pruned = group
        if attempt_outcome is not None:
            self._add(second, RollupKey(app, channel, "attempt", attempt_outcome, reason), n)
            self._inc(
                ATTEMPTS,
                (("app", app), ("channel", channel), ("outcome", attempt_outcome), ("reason", reason)),
                n,
            )
            if state is DeliveryState.RETRYING:
                self._inc(RETRIES, (("app", app), ("channel", channel), ("reason", reason)), n)
        if state in FINAL_STATES and replayed:
            self._add(second, RollupKey(app, channel, "replayed", state.value, reason), n)
            self._inc(REPLAYED_OUTCOMES, (("app", app), ("channel", channel), ("outcome", state.value)), n)
        elif state in FINAL_STATES:
            self._add(second, RollupKey(app, channel, "final", state.value, reason), n, latency_sum)
            self._inc(
                DELIVERIES,
                (("app", app), ("channel", channel), ("outcome", state.value), ("reason", reason)),
                n,
            )
            if state is DeliveryState.FAILED:
                self._inc(DEAD_LETTERS, (("app", app), ("channel", channel), ("reason", reason)), n)
        if decision is not None:
            self._inc(
                GATE_DECISIONS,
                (("app", app), ("channel", channel), ("decision", decision), ("reason", reason)),
                n,
            )
        if quota:
            self._add(second, RollupKey(app, channel, "quota", "quota_spent", reason), n)
            self._inc(VENDOR_QUOTA_SPENT, (("app", app), ("provider", channel)), n)
        if pruned:
            self._add(second, RollupKey(app, channel, "pruned", "token_dead", reason), n)
            self._inc(PRUNED, (("app", app), ("channel", channel), ("reason", reason)), n)

    def replayed(self, app_id: str, by_channel: Mapping[str, int]) -> None:
        """Dead letters an operator queued again (`by_channel`: how many per channel)."""
        for channel, count in by_channel.items():
            self._inc(REPLAYS, (("app", app_id), ("channel", channel)), count)

    def provider_request(self, app_id: str, channel: str, seconds: float) -> None:
        self._observe(PROVIDER_LATENCY, seconds, (("app", app_id), ("channel", channel)))

    def _add(self, second: int, key: RollupKey, n: float = 1, latency: float = 0.0) -> None:
        slot = self._counts[(second, key)]
        slot[0] += n
        slot[1] += latency

    def _inc(self, name: str, labels: Labels, amount: float = 1.0) -> None:
        # The hot path keeps label tuples; their canonical strings are built once per flush.
        self._pending[(name, labels)] += amount

    def _observe(self, name: str, value: float, labels: Labels) -> None:
        """Count into the first bucket that holds `value`; `flush` makes the buckets cumulative."""
        slot = self._observations[(name, labels)]
        slot[bisect_left(_BUCKETS[name], value)] += 1
        slot[-1] += value

    def _observe_all(self, name: str, values: Sequence[float], labels: Labels) -> None:
        slot, bounds = self._observations[(name, labels)], _BUCKETS[name]
        for value in values:
            slot[bisect_left(bounds, value)] += 1
        slot[-1] += sum(values)

    def _drain_pending(self) -> None:
        for (name, labels), amount in self._pending.items():
            self._totals[(name, labels_key(**dict(labels)))] += amount
        for (name, labels), slot in self._observations.items():
            bounds, plain = _BUCKETS[name], dict(labels)
            cumulative = 0.0
            for index, bound in enumerate(bounds):
                cumulative += slot[index]
                if cumulative:
                    self._totals[(name + "_bucket", labels_key(**plain, le=bucket_label(bound)))] += (
                        cumulative
                    )
            count = cumulative + slot[len(bounds)]
            self._totals[(name + "_bucket", labels_key(**plain, le="+Inf"))] += count
            self._totals[(name + "_sum", labels_key(**plain))] += slot[-1]
            self._totals[(name + "_count", labels_key(**plain))] += count
        self._pending.clear()
        self._observations.clear()

    async def flush(self) -> None:
        """Add the buffered counts in one transaction; on failure keep them for the next flush."""
        self._drain_pending()
        counts, totals = self._counts, self._totals
        if not counts and not totals:
            return
        self._counts = defaultdict(lambda: [0, 0.0])
        self._totals = defaultdict(float)
        try:
            await self._rollups.add({k: (int(v[0]), v[1]) for k, v in counts.items()}, totals)
        except Exception:
            log.exception("could not write metric rollups; keeping them for the next flush")
            for key, (count, latency) in counts.items():
                slot = self._counts[key]
                slot[0] += count
                slot[1] += latency
            for total_key, value in totals.items():
                self._totals[total_key] += value
            raise


def bucket_label(bound: float) -> str:
    return repr(float(bound))

"""`/metrics`: cluster-wide values in the Prometheus text format.

Why from the database, not per-process `prometheus_client` counters: pushwise runs
as several processes (API and workers apart, on several machines), and the process
that answers a scrape is not the one that sent the pushes. Counters live in
`metric_totals`, incremented by every process's flush, so any process answers for
the whole cluster and a restart never resets a counter. Gauges (queue depth, oldest
due delivery, circuits, connections, credentials) are read at scrape time; circuits
and connections from what every live process reported at its last flush. Scrape one
process (or all behind one address): values do not need summing across instances.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import orjson
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from pushwise.monitoring import tally
from pushwise.monitoring.circuits import CIRCUIT_STATES
from pushwise.store.rollups import QueueGauge

COUNTERS = {
    tally.ATTEMPTS: "Send attempts by provider outcome and reason.",
    tally.RETRIES: "Attempts that ended in a scheduled retry.",
    tally.DELIVERIES: "Deliveries that reached a final state (the first one), by state and reason.",
    tally.DEAD_LETTERS: "Deliveries that failed for good (dead letters).",
    tally.PRUNED: "Device tokens deactivated because the provider said they are dead.",
    tally.REPLAYS: "Dead letters an operator queued again.",
    tally.REPLAYED_OUTCOMES: "Final outcomes of replayed deliveries, by state.",
    tally.GATE_DECISIONS: "Deliveries the gate held back before sending, by decision and reason.",
    tally.VENDOR_QUOTA_SPENT: "Pushes a phone maker refused for a spent daily quota (not attempts).",
}
HISTOGRAMS = {
    tally.DELIVERY_LATENCY: "Seconds from acceptance to the first final outcome.",
    tally.PROVIDER_LATENCY: "Seconds one provider request took.",
}
BOUNDS = {
    tally.DELIVERY_LATENCY: tally.DELIVERY_LATENCY_BUCKETS,
    tally.PROVIDER_LATENCY: tally.PROVIDER_LATENCY_BUCKETS,
}


@dataclass(frozen=True, slots=True)
class CredentialGauge:
    app_id: str
    channel: str
    status: str
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    totals: Sequence[tuple[str, str, float]]
    queues: Sequence[QueueGauge]
    circuits: Mapping[tuple[str, str], str]
    credentials: Sequence[CredentialGauge]
    firing_alerts: Mapping[tuple[str, str], int]
    now: float
    connections: Mapping[tuple[str, str], int] = field(default_factory=dict)


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: ClusterSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from _counters(self._snapshot.totals)
        yield from _histograms(self._snapshot.totals)
        yield from _gauges(self._snapshot)


def render(snapshot: ClusterSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)


def _counters(totals: Iterable[tuple[str, str, float]]) -> Iterator[Metric]:
    by_name: defaultdict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for name, raw, value in totals:
        if name in COUNTERS:
            by_name[name].append((orjson.loads(raw), value))
    for name, doc in COUNTERS.items():
        rows = by_name.get(name, [])
        label_names = sorted(rows[0][0]) if rows else []
        family = CounterMetricFamily(name.removesuffix("_total"), doc, labels=label_names)
        for labels, value in rows:
            family.add_metric([labels[k] for k in label_names], value)
        yield family


def _histograms(totals: Iterable[tuple[str, str, float]]) -> Iterator[Metric]:
    series: dict[str, dict[tuple[tuple[str, str], ...], dict[str, object]]] = {n: {} for n in HISTOGRAMS}
    for name, raw, value in totals:
        base, _, part = name.rpartition("_")
        if base not in HISTOGRAMS:
            continue
        labels = orjson.loads(raw)
        le = labels.pop("le", None)
        entry = series[base].setdefault(tuple(sorted(labels.items())), {"buckets": {}, "sum": 0.0})
        if part == "bucket":
            entry["buckets"][le] = value  # type: ignore[index]
        elif part == "sum":
            entry["sum"] = value
    for name, doc in HISTOGRAMS.items():
        family = HistogramMetricFamily(name, doc, labels=["app", "channel"])
        for key, entry in series[name].items():
            series_labels = dict(key)
            buckets: dict[str, float] = entry["buckets"]  # type: ignore[assignment]
            for bound in BOUNDS[name]:  # a bucket no observation reached was never written: it is 0
                buckets.setdefault(tally.bucket_label(bound), 0.0)
            ordered = sorted(buckets.items(), key=lambda b: float(b[0]))
            values = [series_labels["app"], series_labels["channel"]]
            family.add_metric(values, ordered, float(entry["sum"]))  # type: ignore[arg-type]
        yield family


def _gauges(snapshot: ClusterSnapshot) -> Iterator[Metric]:
    depth = GaugeMetricFamily("pushwise_queue_depth", "Deliveries not yet final.", labels=["app", "channel"])
    age = GaugeMetricFamily(
        "pushwise_queue_oldest_due_age_seconds",
        "How long the oldest due, unclaimed delivery has waited (0 when none is due).",
        labels=["app", "channel"],
    )
    for queue in snapshot.queues:
        depth.add_metric([queue.app_id, queue.channel], queue.pending)
        waited = 0.0 if queue.oldest_due_at is None else max(0.0, snapshot.now - queue.oldest_due_at)
        age.add_metric([queue.app_id, queue.channel], waited)
    circuit = GaugeMetricFamily(
        "pushwise_circuit_state", "1 for the circuit's current state.", labels=["app", "channel", "state"]
    )
    for (app_id, channel), state in sorted(snapshot.circuits.items()):
        for candidate in CIRCUIT_STATES:
            circuit.add_metric([app_id, channel, candidate], 1.0 if state == candidate else 0.0)
    connections = GaugeMetricFamily(
        "pushwise_provider_connections",
        "Open connections to the provider's endpoints, summed over the cluster's processes.",
        labels=["app", "channel"],
    )
    for (app_id, channel), count in sorted(snapshot.connections.items()):
        connections.add_metric([app_id, channel], count)
    healthy = GaugeMetricFamily(
        "pushwise_credentials_valid",
        "1 when the provider credentials passed their last check.",
        labels=["app", "channel"],
    )
    expiry = GaugeMetricFamily(
        "pushwise_credentials_expiry_timestamp_seconds",
        "When the credentials expire (certificates).",
        labels=["app", "channel"],
    )
    for cred in snapshot.credentials:
        healthy.add_metric([cred.app_id, cred.channel], 0.0 if cred.status == "invalid" else 1.0)
        if cred.expires_at is not None:
            expiry.add_metric([cred.app_id, cred.channel], cred.expires_at)
    firing = GaugeMetricFamily("pushwise_alerts_firing", "Alerts firing now.", labels=["app", "rule"])
    for (app_id, rule), count in sorted(snapshot.firing_alerts.items()):
        firing.add_metric([app_id, rule], count)
    yield from (depth, age, circuit, connections, healthy, expiry, firing)

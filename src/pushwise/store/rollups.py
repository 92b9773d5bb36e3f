"""Cluster-wide counts: per-bucket rollups and monotonic totals, written by every process.

Each process buffers its counts in memory and adds them here in one transaction
every few seconds. Rows are incremented in place (`ON CONFLICT DO UPDATE SET
count = count + excluded.count`), so several processes may flush into the same
bucket at once on PostgreSQL without losing counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from pushwise.domain.states import PENDING_STATES
from pushwise.store.db import Database
from pushwise.store.schema import deliveries, metric_rollups, metric_totals
from pushwise.store.upsert import upsert_into

FINE_SECONDS = 10  # alerting resolution, kept `FINE_KEEP_SECONDS`
COARSE_SECONDS = 60  # history resolution, kept the configured retention
FINE_KEEP_SECONDS = 3600
RESOLUTIONS = (FINE_SECONDS, COARSE_SECONDS)


@dataclass(frozen=True, slots=True)
class RollupKey:
    app_id: str
    channel: str
    event: str  # attempt | final | replayed (a replayed delivery's final outcome) | pruned
    outcome: str
    reason: str


@dataclass(frozen=True, slots=True)
class BucketCount:
    bucket: int
    key: RollupKey
    count: int


@dataclass(frozen=True, slots=True)
class QueueGauge:
    app_id: str
    channel: str
    pending: int
    oldest_due_at: float | None  # the oldest due-and-unclaimed delivery, None when none is due


def bucket_of(at: float, resolution: int) -> int:
    return int(at // resolution) * resolution


class RollupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        counts: Mapping[tuple[int, RollupKey], tuple[int, float]],
        totals: Mapping[tuple[str, str], float],
    ) -> None:
        """Add per-second-bucketed counts (`(second, key) -> (count, latency_sum)`) and totals."""
        rows = _rollup_rows(counts)
        if not rows and not totals:
            return
        async with self._db.writing() as conn:
            if rows:
                insert = upsert_into(self._db, metric_rollups)
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[c.name for c in metric_rollups.primary_key.columns],
                        set_={
                            "count": metric_rollups.c.count + insert.excluded.count,
                            "latency_sum": metric_rollups.c.latency_sum + insert.excluded.latency_sum,
                        },
                    ),
                    rows,
                )
            if totals:
                insert = upsert_into(self._db, metric_totals)
                await conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["name", "labels"],
                        set_={"value": metric_totals.c.value + insert.excluded.value},
                    ),
                    [{"name": n, "labels": labels, "value": v} for (n, labels), v in sorted(totals.items())],
                )

    async def recent(self, since: float, *, app_id: str | None = None) -> list[BucketCount]:
        """Fine-bucket counts from `since` on (alert rules pick their own windows from them)."""
        r = metric_rollups.c
        query = select(r.bucket, r.app_id, r.channel, r.event, r.outcome, r.reason, r.count).where(
            r.resolution == FINE_SECONDS, r.bucket >= bucket_of(since, FINE_SECONDS)
        )
        if app_id is not None:
            query = query.where(r.app_id == app_id)
        async with self._db.read.connect() as conn:
            rows = await conn.execute(query)
            return [BucketCount(int(row[0]), RollupKey(*row[1:6]), int(row[6])) for row in rows]

    async def series(
        self, since: float, resolution: int, *, app_id: str | None = None
    ) -> list[tuple[int, str, str, int]]:
        """(bucket, event, outcome, count) rows for charts."""
        r = metric_rollups.c
        query = (
            select(r.bucket, r.event, r.outcome, func.sum(r.count))
            .where(r.resolution == resolution, r.bucket >= since)
            .group_by(r.bucket, r.event, r.outcome)
            .order_by(r.bucket)
        )
        if app_id is not None:
            query = query.where(r.app_id == app_id)
        async with self._db.read.connect() as conn:
            return [(int(b), str(e), str(o), int(c)) for b, e, o, c in await conn.execute(query)]

    async def totals(self) -> list[tuple[str, str, float]]:
        t = metric_totals.c
        async with self._db.read.connect() as conn:
            rows = await conn.execute(select(t.name, t.labels, t.value).order_by(t.name, t.labels))
            return [(str(n), str(labels), float(v)) for n, labels, v in rows]

    async def prune(self, now: float, *, retention_seconds: float) -> int:
        r = metric_rollups.c
        async with self._db.writing() as conn:
            fine = await conn.execute(
                delete(metric_rollups).where(r.resolution == FINE_SECONDS, r.bucket < now - FINE_KEEP_SECONDS)
            )
            coarse = await conn.execute(
                delete(metric_rollups).where(
                    r.resolution == COARSE_SECONDS, r.bucket < now - retention_seconds
                )
            )
        return int(fine.rowcount or 0) + int(coarse.rowcount or 0)

    async def queue_gauges(self, *, app_id: str | None = None, now: float) -> list[QueueGauge]:
        """Pending deliveries and the oldest due one, per app and channel (reads the due index)."""
        d = deliveries.c
        oldest_due = func.min(d.due_at).filter(d.due_at <= now)
        query = (
            select(d.app_id, d.channel, func.count(), oldest_due)
            .where(d.due_at.is_not(None), d.state.in_([s.value for s in PENDING_STATES]))
            .group_by(d.app_id, d.channel)
        )
        if app_id is not None:
            query = query.where(d.app_id == app_id)
        async with self._db.read.connect() as conn:
            return [QueueGauge(str(a), str(c), int(n), o) for a, c, n, o in await conn.execute(query)]


def _rollup_rows(counts: Mapping[tuple[int, RollupKey], tuple[int, float]]) -> Sequence[dict[str, Any]]:
    merged: dict[tuple[int, int, RollupKey], list[float]] = {}
    for (second, key), (count, latency) in counts.items():
        for resolution in RESOLUTIONS:
            slot = merged.setdefault((resolution, bucket_of(second, resolution), key), [0, 0.0])
            slot[0] += count
            slot[1] += latency
    return [
        {
            "resolution": resolution,
            "bucket": bucket,
            "app_id": key.app_id,
            "channel": key.channel,
            "event": key.event,
            "outcome": key.outcome,
            "reason": key.reason,
            "count": int(count),
            "latency_sum": latency,
        }
        # sorted, so concurrent flushes take row locks in the same order (no deadlocks on PostgreSQL)
        for (resolution, bucket, key), (count, latency) in sorted(
            merged.items(), key=lambda item: (item[0][0], item[0][1], _key_order(item[0][2]))
        )
    ]


def _key_order(key: RollupKey) -> tuple[str, ...]:
    return (key.app_id, key.channel, key.event, key.outcome, key.reason)

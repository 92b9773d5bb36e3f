"""The overview's numbers for one app, from the same cluster-wide totals `/metrics` serves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.dashboard.charts import Bar, QuotaCell, attempts_chart, quota_chart
from pushwise.domain.china.quotas import DEFAULT_QUOTAS
from pushwise.domain.china.vendors import VENDORS, vendor_day
from pushwise.monitoring import tally
from pushwise.monitoring.service import Monitoring
from pushwise.store.rollups import COARSE_SECONDS, bucket_of
from pushwise.store.vendor_quota import VendorQuotaUse

CHART_MINUTES = 30
QUOTA_DAYS = 7


@dataclass
class ChannelNumbers:
    sent: int = 0
    delivered: int = 0
    failed: int = 0


@dataclass
class Overview:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    retries: int = 0
    pruned: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0
    pending: int = 0
    oldest_lag: float = 0.0
    by_reason: Counter[str] = field(default_factory=Counter)
    channels: dict[str, ChannelNumbers] = field(default_factory=dict)
    chart: str = ""
    quota_chart: str = ""  # empty for an app that reaches no phone through a vendor

    @property
    def success_rate(self) -> float | None:
        final = self.delivered + self.failed
        return self.delivered / final if final else None

    @property
    def average_latency(self) -> float | None:
        return self.latency_sum / self.latency_count if self.latency_count else None

    def numbers(self) -> dict[str, Any]:
        """What the live page updates, already formatted as shown."""
        rate, latency = self.success_rate, self.average_latency
        return {
            "sent": str(self.sent),
            "delivered": str(self.delivered),
            "failed": str(self.failed),
            "retries": str(self.retries),
            "pruned": str(self.pruned),
            "success_rate": "-" if rate is None else f"{rate:.1%}",
            "latency": "-" if latency is None else f"{latency:.2f} s",
            "pending": str(self.pending),
            "oldest_lag": f"{self.oldest_lag:.0f} s",
        }


async def build_overview(
    monitoring: Monitoring, app_id: str, now: float, quota: VendorQuotaUse | None = None
) -> Overview:
    view = Overview()
    for name, raw, value in await monitoring.rollups.totals():
        labels = orjson.loads(raw)
        if labels.get("app") == app_id:
            _add_total(view, name, labels, value)
    for queue in await monitoring.rollups.queue_gauges(app_id=app_id, now=now):
        view.pending += queue.pending
        if queue.oldest_due_at is not None:
            view.oldest_lag = max(view.oldest_lag, now - queue.oldest_due_at)
    view.chart = await _chart(monitoring, app_id, now)
    if quota is not None:
        view.quota_chart = await _quota_chart(quota, app_id, now)
    return view


def _add_total(view: Overview, name: str, labels: dict[str, str], value: float) -> None:
    count = int(value)
    channel = view.channels.setdefault(labels.get("channel", "?"), ChannelNumbers())
    if name == tally.ATTEMPTS:
        view.sent += count
        channel.sent += count
        if labels["outcome"] != "delivered":
            view.by_reason[labels["reason"] or labels["outcome"]] += count
    elif name == tally.DELIVERIES and labels["outcome"] == "delivered":
        view.delivered += count
        channel.delivered += count
    elif name == tally.DELIVERIES and labels["outcome"] == "failed":
        view.failed += count
        channel.failed += count
    elif name == tally.RETRIES:
        view.retries += count
    elif name == tally.PRUNED:
        view.pruned += count
    elif name == tally.DELIVERY_LATENCY + "_sum":
        view.latency_sum += value
    elif name == tally.DELIVERY_LATENCY + "_count":
        view.latency_count += count


async def _chart(monitoring: Monitoring, app_id: str, now: float) -> str:
    until = bucket_of(now, COARSE_SECONDS) + COARSE_SECONDS
    since = until - CHART_MINUTES * COARSE_SECONDS
    bars: dict[int, Bar] = {}
    for bucket, event, outcome, count in await monitoring.rollups.series(
        since, COARSE_SECONDS, app_id=app_id
    ):
        if event != "attempt":
            continue
        bar = bars.get(bucket, Bar(bucket, 0, 0))
        ok = outcome == "delivered"
        bars[bucket] = Bar(bucket, bar.ok + (count if ok else 0), bar.failed + (0 if ok else count))
    return attempts_chart(list(bars.values()), since=since, until=until, step=COARSE_SECONDS)


async def _quota_chart(quota: VendorQuotaUse, app_id: str, now: float) -> str:
    """How close each vendor's marketing budget came to spent, over the last Shanghai days.

    The budget is the vendor's published per-device cap (`DEFAULT_QUOTAS`) times the
    active devices it reaches today: the most marketing the vendor lets through in a day.
    """
    days = [vendor_day(now - 86400 * back) for back in range(QUOTA_DAYS - 1, -1, -1)]
    reach = await quota.reach(app_id)
    used = await quota.since(app_id, days[0])
    vendors = [v for v in VENDORS if reach.get(v) or any(u.vendor == v for u in used)]
    if not vendors:
        return ""
    cells = [
        QuotaCell(
            u.vendor,
            u.day,
            u.marketing,
            DEFAULT_QUOTAS[u.vendor].marketing_per_device_day * reach.get(u.vendor, 0),
            u.quota_spent,
        )
        for u in used
        if u.vendor in DEFAULT_QUOTAS
    ]
    return quota_chart(cells, vendors, days)

"""Charts drawn on the server as inline SVG: no scripts, no CDN, nothing to fetch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT, AXIS = 640, 140, 18


@dataclass(frozen=True, slots=True)
class Bar:
    start: int  # bucket start, epoch seconds
    ok: int
    failed: int


def attempts_chart(bars: Sequence[Bar], *, since: int, until: int, step: int) -> str:
    """Stacked bars per bucket: delivered attempts (green) under failed ones (red)."""
    slots = max(1, (until - since) // step)
    by_start = {bar.start: bar for bar in bars}
    peak = max([bar.ok + bar.failed for bar in bars] + [1])
    slot_width = WIDTH / slots
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" '
        f'class="chart" role="img" aria-label="attempts per {step} s, delivered and failed">',
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" class="axis"/>',
    ]
    for index in range(slots):
        start = since + index * step
        bar = by_start.get(start)
        if bar is None:
            continue
        x = index * slot_width + 1
        ok_height = HEIGHT * bar.ok / peak
        failed_height = HEIGHT * bar.failed / peak
        title = f"{_clock(start)}: {bar.ok} delivered, {bar.failed} failed"
        parts.append(f"<g><title>{escape(title)}</title>")
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - ok_height:.1f}" width="{slot_width - 2:.1f}" '
            f'height="{ok_height:.1f}" class="ok"/>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - ok_height - failed_height:.1f}" width="{slot_width - 2:.1f}" '
            f'height="{failed_height:.1f}" class="failed"/></g>'
        )
    parts.append(f'<text x="0" y="{HEIGHT + AXIS - 4}" class="label">{_clock(since)}</text>')
    parts.append(
        f'<text x="{WIDTH}" y="{HEIGHT + AXIS - 4}" text-anchor="end" class="label">{_clock(until)}</text>'
    )
    parts.append(f'<text x="{WIDTH}" y="12" text-anchor="end" class="label">peak {peak}</text></svg>')
    return "".join(parts)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M UTC")


@dataclass(frozen=True, slots=True)
class QuotaCell:
    vendor: str
    day: str  # YYYY-MM-DD, Asia/Shanghai
    used: int  # marketing pushes the vendor accepted
    budget: int  # the vendor's per-device daily cap times the devices it reaches
    spent: int  # "quota spent" answers


ROW = 26


def quota_chart(cells: Sequence[QuotaCell], vendors: Sequence[str], days: Sequence[str]) -> str:
    """One row per vendor, one bar per Shanghai day: the share of the marketing budget used.

    A bar reaching the top means every device got its cap; red marks days the vendor
    answered "quota spent".
    """
    height = ROW * max(1, len(vendors)) + AXIS
    label_width, cell_width = 70, (WIDTH - 70) / max(1, len(days))
    by_key = {(cell.vendor, cell.day): cell for cell in cells}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" class="chart" '
        'role="img" aria-label="marketing quota used per vendor and day">'
    ]
    for row, vendor in enumerate(vendors):
        y = row * ROW
        parts.append(f'<text x="0" y="{y + ROW - 9}" class="label">{escape(vendor)}</text>')
        for column, day in enumerate(days):
            cell = by_key.get((vendor, day), QuotaCell(vendor, day, 0, 0, 0))
            share = min(1.0, cell.used / cell.budget) if cell.budget else 0.0
            x = label_width + column * cell_width
            bar = (ROW - 6) * share
            title = f"{vendor} {day}: {cell.used} of {cell.budget} marketing pushes ({share:.0%})"
            if cell.spent:
                title += f", {cell.spent} refused: quota spent"
            css = "failed" if cell.spent else "ok"
            width = f"{cell_width - 2:.1f}"
            parts.append(
                f'<g><title>{escape(title)}</title><rect x="{x + 1:.1f}" y="{y + 2}" width="{width}" '
                f'height="{ROW - 6}" class="slot"/><rect x="{x + 1:.1f}" y="{y + ROW - 4 - bar:.1f}" '
                f'width="{width}" height="{bar:.1f}" class="{css}"/></g>'
            )
    for column, day in enumerate(days):
        x = label_width + (column + 0.5) * cell_width
        parts.append(
            f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" class="label">{day[5:]}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

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

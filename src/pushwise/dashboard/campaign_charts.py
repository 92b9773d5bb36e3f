"""A campaign's analytics as inline SVG: the funnel per arm, and sends and opens per day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 640, 180, 24
STEPS = ("sent", "delivered", "opened", "clicked", "converted")
_ARM_CLASSES = ("arm0", "arm1", "arm2", "arm3")


def funnel_chart(arms: Sequence[Mapping[str, Any]]) -> str:
    """Bars per funnel step, one per arm side by side, scaled to the largest `sent`."""
    peak = max([1, *(int(arm.get(step, 0)) for arm in arms for step in STEPS)])
    group = WIDTH / len(STEPS)
    bar = (group - 12) / max(1, len(arms))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" class="chart" '
        'role="img" aria-label="funnel per arm">',
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" class="axis"/>',
    ]
    for s_index, step in enumerate(STEPS):
        for a_index, arm in enumerate(arms):
            value = int(arm.get(step, 0))
            height = HEIGHT * value / peak
            x = s_index * group + 6 + a_index * bar
            css = _ARM_CLASSES[a_index % len(_ARM_CLASSES)]
            title = escape(f"{arm['key']} {step}: {value}")
            parts.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - height:.1f}" width="{bar - 2:.1f}" height="{height:.1f}" '
                f'class="{css}"><title>{title}</title></rect>'
            )
        parts.append(
            f'<text x="{s_index * group + 6:.1f}" y="{HEIGHT + PAD - 6}" class="label">{step}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def days_chart(days: Sequence[Mapping[str, Any]]) -> str:
    """Pushes sent and opened per day of sending."""
    if not days:
        return ""
    peak = max([1, *(int(day["sent"]) for day in days)])
    slot = WIDTH / len(days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" class="chart" '
        'role="img" aria-label="sent and opened per day">',
        f'<line x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" class="axis"/>',
    ]
    for index, day in enumerate(days):
        label = datetime.fromtimestamp(day["day"], UTC).strftime("%Y-%m-%d")
        for css, value, inset in (("ok", int(day["sent"]), 1), ("arm1", int(day["opened"]), slot / 4)):
            height = HEIGHT * value / peak
            x, width = index * slot + inset, slot - 2 * inset
            parts.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - height:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'class="{css}"><title>{escape(label)}: {value}</title></rect>'
            )
    first = datetime.fromtimestamp(days[0]["day"], UTC).strftime("%Y-%m-%d")
    parts.append(f'<text x="0" y="{HEIGHT + PAD - 6}" class="label">{first}</text>')
    parts.append(f'<text x="{WIDTH}" y="12" text-anchor="end" class="label">peak {peak} a day</text></svg>')
    return "".join(parts)

"""An uplift model's validation as inline SVG: the Qini curve, uplift by decile, and the policy's
value against every fixed policy with 95% intervals. Drawn on the server, like the other charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 640, 200, 24
_ARM_CLASSES = ("arm0", "arm1", "arm2", "arm3")


def _svg(label: str, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height + PAD}" class="chart" '
        f'role="img" aria-label="{escape(label)}">'
    ]


def qini_chart(curves: Mapping[str, Sequence[Sequence[float]]]) -> str:
    """Each treatment arm's Qini curve (incremental outcome per user against the share targeted), with
    the random line from the origin to where everyone is targeted."""
    points = [point for curve in curves.values() for point in curve]
    low = min([0.0, *(p[1] for p in points)])
    high = max([1e-12, *(p[1] for p in points)])

    def x(share: float) -> float:
        return share * WIDTH

    def y(gain: float) -> float:
        return HEIGHT - (gain - low) / (high - low) * HEIGHT

    parts = _svg("Qini curve per arm, out of sample")
    parts.append(f'<line x1="0" y1="{y(0):.1f}" x2="{WIDTH}" y2="{y(0):.1f}" class="axis"/>')
    for index, (arm, curve) in enumerate(curves.items()):
        if not curve:
            continue
        css = _ARM_CLASSES[index % len(_ARM_CLASSES)]
        line = " ".join(f"{x(share):.1f},{y(gain):.1f}" for share, gain in curve)
        end = curve[-1][1]
        parts.append(
            f'<g class="{css}"><title>{escape(arm)}</title><polyline points="{line}" class="curve"/>'
            f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(1):.1f}" y2="{y(end):.1f}" class="random"/></g>'
            f'<text x="6" y="{14 + 14 * index}" class="label {css}">'
            f"{escape(arm)}</text>"
        )
    parts.append(f'<text x="0" y="{HEIGHT + PAD - 6}" class="label">0% targeted</text>')
    parts.append(
        f'<text x="{WIDTH}" y="{HEIGHT + PAD - 6}" text-anchor="end" class="label">100%</text></svg>'
    )
    return "".join(parts)


def decile_chart(deciles: Sequence[Mapping[str, Any]]) -> str:
    """Observed uplift (treated minus control mean) per tenth of users, best-rated first."""
    observed = [d.get("observed") for d in deciles]
    values = [v for v in observed if v is not None] + [0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    zero = HEIGHT * high / span if high > 0 else 0.0
    width = WIDTH / max(1, len(deciles))
    parts = _svg("observed uplift by decile of predicted uplift")
    for index, (decile, value) in enumerate(zip(deciles, observed, strict=True)):
        if value is None:
            continue
        top = zero - HEIGHT * value / span
        y, h = (top, zero - top) if value >= 0 else (zero, top - zero)
        title = f"decile {decile['decile']}: observed {value:+.4f}, predicted {decile['predicted']:+.4f}"
        parts.append(
            f'<g><title>{escape(title)}</title><rect x="{index * width + 2:.1f}" y="{y:.1f}" '
            f'width="{width - 4:.1f}" height="{max(h, 0.5):.1f}" class="{"ok" if value >= 0 else "failed"}"/>'
            f'<text x="{index * width + width / 2:.1f}" y="{HEIGHT + PAD - 6}" text-anchor="middle" '
            f'class="label">{decile["decile"]}</text></g>'
        )
    parts.append(f'<line x1="0" y1="{zero:.1f}" x2="{WIDTH}" y2="{zero:.1f}" class="axis"/></svg>')
    return "".join(parts)


def policy_chart(policies: Mapping[str, Mapping[str, Any]]) -> str:
    """Each policy's value per user (a dot) and its 95% interval (a bar), one row each."""
    rows = list(policies.items())
    lows = [p["ci"][0] for _n, p in rows] or [0.0]
    highs = [p["ci"][1] for _n, p in rows] or [1.0]
    low, high = min(lows), max(highs)
    span = (high - low) or 1.0
    left = 180
    scale = (WIDTH - left - 10) / span
    row_height = 22
    parts = _svg("policy value with 95% intervals", height=row_height * max(1, len(rows)))
    for index, (name, policy) in enumerate(rows):
        y = index * row_height + 12
        lo, hi, value = policy["ci"][0], policy["ci"][1], policy["value"]
        title = f"{name}: {value:.4f} [{lo:.4f}, {hi:.4f}], sends {policy['send_fraction']:.0%}"
        parts.append(
            f"<g><title>{escape(title)}</title>"
            f'<text x="0" y="{y + 4}" class="label">{escape(name)} ({policy["send_fraction"]:.0%})</text>'
            f'<line x1="{left + (lo - low) * scale:.1f}" y1="{y}" x2="{left + (hi - low) * scale:.1f}" '
            f'y2="{y}" class="interval"/>'
            f'<circle cx="{left + (value - low) * scale:.1f}" cy="{y}" r="4" class="point"/></g>'
        )
    bottom = row_height * max(1, len(rows)) + PAD - 6
    parts.append(f'<text x="{left}" y="{bottom}" class="label">{low:.4f}</text>')
    parts.append(f'<text x="{WIDTH - 10}" y="{bottom}" text-anchor="end" class="label">{high:.4f}</text>')
    parts.append("</svg>")
    return "".join(parts)

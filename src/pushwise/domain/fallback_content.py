"""Content that fits: what to send when the rendered payload is over a provider's limit.

The ladder is the sender's own `fallback.content` first (they know best what to
say in fewer words), then an automatic shortened version: title, subtitle and body
cut at a character boundary with an ellipsis. The app may depend on `data`, so it
is kept: the API refuses content whose data (or provider options) would not fit even
with the text shortened. Only when a provider still answers 413 (a push service
with a smaller limit than ours) does the last rung drop `data` and `image`.
"""

from __future__ import annotations

from dataclasses import replace

from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import Outcome

ELLIPSIS = "\u2026"
MAX_TITLE_BYTES = 120
MAX_SUBTITLE_BYTES = 120
MAX_BODY_BYTES = 1024
PAYLOAD_TOO_LARGE = "PayloadTooLarge"


def truncated(text: str | None, max_bytes: int) -> str | None:
    """`text` cut to at most `max_bytes` UTF-8 bytes, ending in an ellipsis when it was cut."""
    if text is None or len(text.encode()) <= max_bytes:
        return text
    budget = max_bytes - len(ELLIPSIS.encode())
    cut = text.encode()[:budget].decode(errors="ignore")
    return cut.rstrip() + ELLIPSIS


def shortened(content: Content) -> Content:
    return replace(
        content,
        title=truncated(content.title, MAX_TITLE_BYTES),
        subtitle=truncated(content.subtitle, MAX_SUBTITLE_BYTES),
        body=truncated(content.body, MAX_BODY_BYTES),
    )


def smaller_specs(spec: NotificationSpec) -> list[tuple[str, NotificationSpec]]:
    """The specs to try, in order, after `spec` was too large: (label for the trail, spec)."""
    ladder: list[tuple[str, NotificationSpec]] = []
    current = spec.content
    if spec.fallback.content is not None:
        current = spec.fallback.content
        ladder.append(("fallback_content", replace(spec, content=current)))
    for label, smaller in (
        ("shortened", shortened(current)),
        ("without_data", replace(shortened(current), data={}, image=None)),
    ):
        if smaller != current:
            ladder.append((label, replace(spec, content=smaller)))
            current = smaller
    return ladder


def smallest_with_data(spec: NotificationSpec) -> NotificationSpec:
    """The smallest form the engine sends without dropping data: what the API requires to fit."""
    kept = [smaller for label, smaller in smaller_specs(spec) if label != "without_data"]
    return kept[-1] if kept else spec


def is_too_large(outcome: Outcome) -> bool:
    """Our own size check or the provider's 413: either way a smaller payload may go through."""
    return outcome.reason == PAYLOAD_TOO_LARGE or outcome.provider_status == 413

"""Which of a template's locales a user gets.

BCP 47 tags are matched from the most specific down: `zh-Hant-TW` tries `zh-Hant-TW`,
then `zh-Hant`, then `zh`; then English, then the template's first locale. Case and
`_` versus `-` do not matter (`zh_hant_tw` is `zh-Hant-TW`).
"""

from __future__ import annotations

from collections.abc import Sequence

FALLBACK_LOCALE = "en"


def _key(tag: str) -> str:
    return tag.replace("_", "-").lower()


def candidates(wanted: str | None) -> list[str]:
    """`zh-Hant-TW` -> [`zh-hant-tw`, `zh-hant`, `zh`] (lower case, most specific first)."""
    if not wanted:
        return []
    parts = _key(wanted).split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


def best_locale(available: Sequence[str], wanted: str | None) -> str:
    """The template locale to render for a user whose locale is `wanted` (`available` is not empty)."""
    by_key = {_key(tag): tag for tag in available}
    for candidate in [*candidates(wanted), FALLBACK_LOCALE]:
        if candidate in by_key:
            return by_key[candidate]
    return available[0]

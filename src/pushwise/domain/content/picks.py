"""Item picks "for you": which catalogue item a push should be about, for one user.

Each candidate gets a score, the sum of four parts (weights below, documented in
docs/content.md):

- **interest**: the user's affinity for the item's category (-1 to 1, from the
  audience profile), the strongest signal of relevance;
- **recency**: `2^(-age / 14 days)` of the item's launch, so new arrivals rise;
- **popularity**: how much users like this one (same strongest interest) engaged with
  the item lately, relative to the most popular candidate (0 to 1);
- **novelty**: a bonus for an item the user has not interacted with yet, because
  telling people about what they already bought or viewed is wasted attention.

Items out of stock (`stock` 0 or less) are never picked, nor an item the user was
already pushed within the no-repeat window. Ties break on the item id, so picks are
deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.audience.decay import decay_factor

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class PickWeights:
    interest: float = 1.0
    recency: float = 0.3
    popularity: float = 0.4
    novelty: float = 0.2
    recency_half_life: float = 14 * DAY
    no_repeat_seconds: float = 30 * DAY


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    category: str | None
    stock: int | None  # None: not tracked (always available)
    launched_at: float | None
    fields: Mapping[str, Any] = field(default_factory=dict)  # everything a template may show

    @property
    def available(self) -> bool:
        return self.stock is None or self.stock > 0


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item: Item
    score: float
    parts: Mapping[str, float]


def rank(
    candidates: Iterable[Item],
    *,
    interests: Mapping[str, float],
    popularity: Mapping[str, float],
    pushed: Collection[str],
    seen: Collection[str],
    now: float,
    weights: PickWeights = PickWeights(),
    limit: int = 10,
) -> list[ScoredItem]:
    """The best `limit` candidates for one user, best first (none that is out of stock or pushed)."""
    top_popularity = max(popularity.values(), default=0.0) or 1.0
    scored = []
    for item in candidates:
        if not item.available or item.id in pushed:
            continue
        parts = {
            "interest": weights.interest * interests.get(item.category or "", 0.0),
            "recency": weights.recency
            * (decay_factor(now - item.launched_at, weights.recency_half_life) if item.launched_at else 0.0),
            "popularity": weights.popularity * popularity.get(item.id, 0.0) / top_popularity,
            "novelty": 0.0 if item.id in seen else weights.novelty,
        }
        scored.append(ScoredItem(item, sum(parts.values()), parts))
    scored.sort(key=lambda s: (-s.score, s.item.id))
    return scored[:limit]


@dataclass(frozen=True, slots=True)
class PickIndex:
    """Candidates grouped by category, each group best first by the parts that do not depend on
    the user (recency, popularity, and the novelty bonus every unseen item gets). Built once per
    catalogue refresh, cohort and `from` rule; a user's best item is then a short scan per category
    instead of scoring the whole catalogue."""

    by_category: Mapping[str | None, Sequence[tuple[float, Item]]]
    weights: PickWeights


def build_index(
    candidates: Iterable[Item],
    popularity: Mapping[str, float],
    now: float,
    weights: PickWeights = PickWeights(),
) -> PickIndex:
    top = max(popularity.values(), default=0.0) or 1.0
    groups: dict[str | None, list[tuple[float, Item]]] = {}
    for item in candidates:
        if not item.available:
            continue
        recency = weights.recency * (
            decay_factor(now - item.launched_at, weights.recency_half_life) if item.launched_at else 0.0
        )
        base = recency + weights.popularity * popularity.get(item.id, 0.0) / top + weights.novelty
        groups.setdefault(item.category, []).append((base, item))
    for group in groups.values():
        group.sort(key=lambda pair: (-pair[0], pair[1].id))
    return PickIndex(groups, weights)


def best_pick(
    index: PickIndex, *, interests: Mapping[str, float], pushed: Collection[str], seen: Collection[str]
) -> Item | None:
    """The item `rank` would put first for this user, found without scoring every candidate.

    Groups are visited by the best score they could give this user, so the first one usually
    holds the pick and every other group stops at its first item; within a group, an item that
    cannot beat the pick (nor tie it with a smaller id) ends the group, as all below it score no
    more and, on a tie, have larger ids.
    """
    weights = index.weights
    groups = sorted(
        (
            (group[0][0] + weights.interest * interests.get(category or "", 0.0), category, group)
            for category, group in index.by_category.items()
            if group
        ),
        key=lambda entry: -entry[0],
    )
    best_score, chosen = 0.0, None
    for _top, category, group in groups:
        interest = weights.interest * interests.get(category or "", 0.0)
        for base, item in group:
            bound = base + interest  # no item further down this group can score more
            if chosen is not None and (bound < best_score or (bound == best_score and item.id > chosen.id)):
                break
            if item.id in pushed:
                continue
            score = bound - (weights.novelty if item.id in seen else 0.0)
            if chosen is None or score > best_score or (score == best_score and item.id < chosen.id):
                best_score, chosen = score, item
    return chosen

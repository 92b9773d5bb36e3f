"""Per batch, which variant and which catalogue item each personalised delivery gets.

Everything a choice reads is read once per batch, in one hand-off to the database: the
results so far of each learning experiment (cached a few seconds: a bandit needs fresh
results, not a query per batch of a busy campaign), when each user last saw each
variant, the app's available items and their popularity (cached a minute), and what
each user was pushed or touched lately. The decisions themselves are the pure
functions of `domain/content/variants.py` and `domain/content/picks.py`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Connection

from pushwise.delivery.targeting import UpliftTargeting
from pushwise.domain.clock import Clock
from pushwise.domain.content.item_rules import ItemRuleInvalid, parse_item_rule
from pushwise.domain.content.picks import (
    Item,
    PickIndex,
    PickWeights,
    ScoredItem,
    best_pick,
    build_index,
    rank,
)
from pushwise.domain.content.templates import CompiledTemplate
from pushwise.domain.content.variants import ArmStats, Recovery, split_arm, thompson_arm
from pushwise.domain.notification import NotificationSpec
from pushwise.store.catalog import CatalogRepository, item_history, strongest_interests
from pushwise.store.db import Database
from pushwise.store.personal import arm_results, last_shown
from pushwise.store.queue import ClaimedDelivery

RESULTS_SECONDS = 5.0
CATALOG_SECONDS = 60.0
DEFAULT_GOAL = "opened"


@dataclass(frozen=True, slots=True)
class Choice:
    variant: str | None = None
    item: Item | None = None
    no_item: bool = False  # a pick was asked for and nothing qualified


@dataclass(slots=True)
class _BatchReads:
    results: dict[str, dict[str, ArmStats]] = field(default_factory=dict)  # notification -> arm -> stats
    shown: dict[str, dict[str, dict[str, float]]] = field(
        default_factory=dict
    )  # template -> user -> arm -> at
    pushed: dict[str, set[str]] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    cohorts: dict[str, str] = field(default_factory=dict)


class Choices:
    def __init__(
        self,
        db: Database,
        catalog: CatalogRepository,
        clock: Clock,
        rng: random.Random,
        *,
        weights: PickWeights | None = None,
        recovery: Recovery | None = None,
        targeting: UpliftTargeting | None = None,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._clock = clock
        self._rng = rng
        self._weights = weights or PickWeights()
        self._recovery = recovery or Recovery()
        self._targeting = targeting
        self._results: dict[str, tuple[float, dict[str, ArmStats]]] = {}
        self._items: dict[str, tuple[float, list[Item], dict[str, dict[str, float]]]] = {}
        self._indexes: dict[tuple[str, str, bytes], tuple[float, PickIndex]] = {}

    async def prepare(
        self,
        items: Sequence[ClaimedDelivery],
        specs: Mapping[str, NotificationSpec],
        templates: Mapping[int, CompiledTemplate],
    ) -> BatchChoices:
        now = self._clock.now()
        learning = sorted(
            {i.notification_id for i in items if specs[i.notification_id].variants.get("mode") == "learn"}
        )
        stale = [n for n in learning if n not in self._results or self._results[n][0] + RESULTS_SECONDS < now]
        goals = {n: str(specs[n].variants.get("goal") or DEFAULT_GOAL) for n in stale}
        shown_for: dict[str, set[str]] = {}
        for i in items:
            template = templates.get(i.id)
            if (
                template is not None
                and i.user_id
                and specs[i.notification_id].variants.get("mode") == "learn"
            ):
                shown_for.setdefault(template.key, set()).add(i.user_id)
        pick_users = sorted({i.user_id for i in items if i.user_id and specs[i.notification_id].pick})
        since = now - 6 * self._recovery.half_life  # older sightings have recovered to within 2%

        def read(conn: Connection) -> _BatchReads:
            reads = _BatchReads()
            reads.results = {n: arm_results(conn, [n], goals[n]) for n in stale}
            reads.shown = {
                key: last_shown(conn, key, sorted(users), since) for key, users in shown_for.items()
            }
            if pick_users:
                reads.pushed, reads.seen = item_history(
                    conn, pick_users, now, self._weights.no_repeat_seconds
                )
                reads.cohorts = strongest_interests(conn, pick_users)
            return reads

        reads = await self._db.query(read) if (stale or shown_for or pick_users) else _BatchReads()
        for notification_id, results in reads.results.items():
            self._results[notification_id] = (now, results)
        for app_id in sorted({i.app_id for i in items if specs[i.notification_id].pick}):
            await self._load_items(app_id, now)
        return BatchChoices(self, reads, now)

    async def for_user(
        self, app_id: str, user_id: str, interests: Mapping[str, float], now: float, limit: int = 10
    ) -> list[ScoredItem]:
        """A user's best items now, as a `for_you` pick ranks them (`GET /v1/users/{id}/picks`)."""

        def read(conn: Connection) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
            pushed, seen = item_history(conn, [user_id], now, self._weights.no_repeat_seconds)
            return pushed, seen, strongest_interests(conn, [user_id])

        pushed, seen, cohorts = await self._db.query(read)
        await self._load_items(app_id, now)
        return self.ranked(
            app_id,
            {},
            interests=interests,
            pushed=pushed.get(user_id, set()),
            seen=seen.get(user_id, set()),
            cohort=cohorts.get(user_id, ""),
            now=now,
            limit=limit,
        )

    async def _load_items(self, app_id: str, now: float) -> None:
        cached = self._items.get(app_id)
        if cached is None or cached[0] + CATALOG_SECONDS < now:
            self._items[app_id] = (
                now,
                await self._catalog.available(app_id),
                await self._catalog.popularity(app_id),
            )

    def _candidates(self, app_id: str, spec_pick: Mapping[str, object], now: float) -> list[Item]:
        _loaded_at, candidates, _popularity = self._items.get(app_id, (0.0, [], {}))
        rule = spec_pick.get("from")
        if rule:
            test = parse_item_rule(rule)
            return [item for item in candidates if test(item, now)]
        return candidates

    def ranked(
        self,
        app_id: str,
        spec_pick: Mapping[str, object],
        *,
        interests: Mapping[str, float],
        pushed: set[str],
        seen: set[str],
        cohort: str,
        now: float,
        limit: int = 10,
    ) -> list[ScoredItem]:
        """The user's best `limit` items with their scores (for people to read: the picks endpoint)."""
        popularity = self._items.get(app_id, (0.0, [], {}))[2]
        return rank(
            self._candidates(app_id, spec_pick, now),
            interests=interests,
            popularity=popularity.get(cohort) or popularity.get("", {}),
            pushed=pushed,
            seen=seen,
            now=now,
            weights=self._weights,
            limit=limit,
        )

    def best(
        self,
        app_id: str,
        spec_pick: Mapping[str, object],
        *,
        interests: Mapping[str, float],
        pushed: set[str],
        seen: set[str],
        cohort: str,
        now: float,
    ) -> Item | None:
        """The item a send picks: the first of `ranked`, through an index built once per catalogue
        refresh, cohort and rule (a campaign ranks the same candidates for every user)."""
        loaded_at, _items, popularity = self._items.get(app_id, (0.0, [], {}))
        key = (app_id, cohort, orjson.dumps(spec_pick.get("from"), option=orjson.OPT_SORT_KEYS))
        cached = self._indexes.get(key)
        if cached is None or cached[0] != loaded_at:
            scores = popularity.get(cohort) or popularity.get("", {})
            index = build_index(self._candidates(app_id, spec_pick, now), scores, now, self._weights)
            if len(self._indexes) > 1000:
                self._indexes.clear()
            cached = self._indexes[key] = (loaded_at, index)
        return best_pick(cached[1], interests=interests, pushed=pushed, seen=seen)

    def arm(
        self,
        notification_id: str,
        spec: NotificationSpec,
        template: CompiledTemplate,
        user: str,
        shown: Mapping[str, float],
        now: float,
    ) -> str | None:
        arms = list(template.variant_keys)
        if not spec.variants or not arms:
            return None
        if spec.variants.get("mode") == "learn":
            results = self._results.get(notification_id, (0.0, {}))[1]
            return thompson_arm(arms, results, shown, now, self._rng, self._recovery)
        if spec.variants.get("mode") == "uplift" and self._targeting is not None:
            # The arm the model picked when the gate asked it; the random slice sent without
            # the model (and a model that could not score) falls back to the even split.
            answer = self._targeting.answer(notification_id, user)
            if answer is not None and answer.decision is not None and answer.decision.best_arm in arms:
                return answer.decision.best_arm
        return split_arm(notification_id, user, arms)


class BatchChoices:
    def __init__(self, choices: Choices, reads: _BatchReads, now: float) -> None:
        self._choices = choices
        self._reads = reads
        self._now = now

    def choose(
        self,
        item: ClaimedDelivery,
        spec: NotificationSpec,
        template: CompiledTemplate,
        interests: Mapping[str, float],
    ) -> Choice:
        user = item.user_id or ""
        shown = self._reads.shown.get(template.key, {}).get(user, {})
        variant = self._choices.arm(item.notification_id, spec, template, user, shown, self._now)
        if not spec.pick:
            return Choice(variant)
        try:
            picked = self._choices.best(
                item.app_id,
                spec.pick,
                interests=interests,
                pushed=self._reads.pushed.get(user, set()),
                seen=self._reads.seen.get(user, set()),
                cohort=self._reads.cohorts.get(user, ""),
                now=self._now,
            )
        except ItemRuleInvalid:  # refused at the API; a rule stored before a change of the language
            picked = None
        return Choice(variant, picked) if picked is not None else Choice(variant, no_item=True)

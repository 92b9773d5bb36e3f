"""The campaign runner: the leader sends what scheduled and recurring campaigns owe, and walks
journeys' due runs one step further, in batches.

Journeys send through the same engine call as the API. A step that sends groups its due
runs by (campaign, step) into one notification to their users, under an idempotency key
stored on the runs *before* it is sent (their `claim`): a runner killed after sending
leaves the claim, and the next sweep sends again under the same key, which the engine
answers with the first notification instead of a second one. A journey is never advanced
by an in-memory sleep: waits are `due_at` times, so restarts and kills lose nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select

from pushwise.campaigns.sending import CampaignSender
from pushwise.domain.campaigns.conditions import RunFacts, holds, profile_leaves
from pushwise.domain.campaigns.journeys import (
    Finished,
    Journey,
    NeedsAnswer,
    SendNow,
    SleepUntil,
    parse_journey,
    step,
)
from pushwise.domain.campaigns.schedule import next_run
from pushwise.domain.clock import Clock
from pushwise.store.campaigns import (
    CampaignRepository,
    RunRow,
    advance,
    did_since_entry,
    due_runs,
    enter_inactive,
)
from pushwise.store.db import Database
from pushwise.store.journey_conditions import profile_matches
from pushwise.store.schema import campaigns

log = logging.getLogger(__name__)

BATCH = 1000
CLAIM_SECONDS = 120.0
MAX_STEPS_PER_SWEEP = 20  # a run never loops forever within one sweep
WIN_BACK_SECONDS = 3600.0
MAX_BATCHES_PER_SWEEP = 100

LeaderCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class _Plan:
    sends: dict[tuple[str, str], list[tuple[RunRow, SendNow]]]
    updates: list[dict[str, Any]]


class CampaignRunner:
    def __init__(
        self,
        db: Database,
        campaigns_repo: CampaignRepository,
        sender: CampaignSender,
        clock: Clock,
        *,
        interest_half_life: float,
    ) -> None:
        self._db = db
        self._campaigns = campaigns_repo
        self._sender = sender
        self._clock = clock
        self._half_life = interest_half_life
        self._journeys: dict[str, Journey] = {}
        self._last_win_back = float("-inf")

    async def sweep(self) -> int:
        """One pass: due campaigns, win-back entries (hourly), then due journey runs until none is left."""
        taken = await self._due_campaigns()
        now = self._clock.now()
        if now - self._last_win_back >= WIN_BACK_SECONDS:
            self._last_win_back = now
            await self._db.transact(lambda conn: enter_inactive(conn, now))
        # A run that just sent is due again at once (its next step, often a wait, counts from the
        # send): keep sweeping until nothing is due, within a bound so one sweep always ends.
        for _ in range(MAX_BATCHES_PER_SWEEP):
            moved = await self._journey_batch()
            taken += moved
            if not moved:
                break
        return taken

    async def _due_campaigns(self) -> int:
        now = self._clock.now()
        due = await self._campaigns.due(now)
        for campaign in due:
            definition = campaign.definition
            key = f"campaign:{campaign.id}:{campaign.runs + 1}"
            await self._sender.send(campaign.app_id, campaign.id, definition["notification"], key)
            cron = definition.get("cron")
            following = next_run(cron, definition.get("timezone", "UTC"), now) if cron else None
            await self._campaigns.ran(campaign.id, following, now)
        return len(due)

    async def _journey_batch(self) -> int:
        now = self._clock.now()
        runs = await self._db.query(lambda conn: due_runs(conn, now, BATCH))
        if not runs:
            return 0
        plan = await self._plan(runs, now)
        claimed = await self._claim(plan, now)
        for (campaign_id, _step_id), group in claimed.items():
            first, action = group[0]
            users = sorted({run.external_id for run, _ in group})
            await self._sender.send(first.app_id, campaign_id, action.body, first.claim or "", user_ids=users)
        after_send = [
            {
                "b_id": run.id,
                "pointer": list(action.next),
                "state": "active" if action.next else "done",
                "due_at": now if action.next else None,
                "claim": None,
                "now": now,
            }
            for group in claimed.values()
            for run, action in group
        ]
        await self._db.transact(lambda conn: advance(conn, after_send))
        return len(runs)

    async def _plan(self, runs: Sequence[RunRow], now: float) -> _Plan:
        """Step each run until it sends, sleeps or finishes, answering conditions for the batch at once."""
        journeys = await self._load_journeys({run.campaign_id for run in runs})
        pointers = {run.id: run.pointer for run in runs}
        answers: dict[int, bool] = {}
        plan = _Plan({}, [])
        pending = [run for run in runs]
        for _ in range(MAX_STEPS_PER_SWEEP):
            asking: list[tuple[RunRow, NeedsAnswer]] = []
            for run in pending:
                journey = journeys.get(run.campaign_id)
                if run.claim is not None:  # a send a dead runner started: send it again, same key
                    action = (
                        step(journey, run.pointer, now=now, timezone=run.timezone) if journey else Finished()
                    )
                    if isinstance(action, SendNow):
                        plan.sends.setdefault((run.campaign_id, action.step_id), []).append((run, action))
                        continue
                action = (
                    step(
                        journey,
                        pointers[run.id],
                        now=now,
                        timezone=run.timezone,
                        answer=answers.pop(run.id, None),
                    )
                    if journey is not None
                    else Finished()
                )
                if isinstance(action, NeedsAnswer):
                    asking.append((run, action))
                elif isinstance(action, SendNow):
                    plan.sends.setdefault((run.campaign_id, action.step_id), []).append((run, action))
                elif isinstance(action, SleepUntil):
                    plan.updates.append(_write(run, action.next, action.until if action.next else None, now))
                else:
                    plan.updates.append(_write(run, (), None, now))
            if not asking:
                break
            answers.update(await self._answer(asking, now))
            pending = [run for run, _ in asking]
        await self._db.transact(lambda conn: advance(conn, plan.updates))
        return plan

    async def _answer(self, asking: Sequence[tuple[RunRow, NeedsAnswer]], now: float) -> dict[int, bool]:
        did_types = sorted(
            {
                str(leaf["field"])[4:]
                for _, need in asking
                for leaf in _journey_leaves(need.rule)
                if str(leaf["field"]).startswith("did.")
            }
        )

        def read(conn: Connection) -> dict[int, bool]:
            did = did_since_entry(conn, [run for run, _ in asking], did_types)
            answers = {}
            for run, need in asking:
                leaves = profile_leaves(need.rule)
                matched = profile_matches(conn, run.app_id, leaves, [run.user_id], now, self._half_life)
                facts = RunFacts(
                    {path: run.user_id in users for path, users in matched.items()},
                    did.get(run.id, set()),
                    run.event,
                )
                answers[run.id] = holds(need.rule, facts)
            return answers

        return await self._db.query(read)

    async def _claim(self, plan: _Plan, now: float) -> dict[tuple[str, str], list[tuple[RunRow, SendNow]]]:
        """Give each send group its idempotency key, written on its runs before anything is sent."""
        claimed: dict[tuple[str, str], list[tuple[RunRow, SendNow]]] = {}
        updates = []
        for key, group in plan.sends.items():
            claim = group[0][0].claim or f"journey:{key[0]}:{key[1]}:{uuid.uuid4().hex}"
            claimed[key] = [(replace(run, claim=claim), action) for run, action in group]
            updates += [
                {
                    "b_id": run.id,
                    "pointer": list(run.pointer),
                    "state": "active",
                    "due_at": now + CLAIM_SECONDS,
                    "claim": claim,
                    "now": now,
                }
                for run, _ in group
            ]
        await self._db.transact(lambda conn: advance(conn, updates))
        return claimed

    async def _load_journeys(self, campaign_ids: set[str]) -> dict[str, Journey]:
        missing = sorted(campaign_ids - set(self._journeys))
        if missing:
            query = select(campaigns.c.id, campaigns.c.definition).where(campaigns.c.id.in_(missing))
            for row in await self._db.query(lambda conn: conn.execute(query).all()):
                self._journeys[row.id] = parse_journey(row.definition["journey"])
        return {cid: self._journeys[cid] for cid in campaign_ids if cid in self._journeys}


def _journey_leaves(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "all" in rule or "any" in rule:
        return [leaf for clause in rule.get("all", rule.get("any", [])) for leaf in _journey_leaves(clause)]
    if "not" in rule:
        return _journey_leaves(rule["not"])
    return [rule] if isinstance(rule.get("field"), str) else []


def _write(run: RunRow, pointer: tuple[int | str, ...], due_at: float | None, now: float) -> dict[str, Any]:
    return {
        "b_id": run.id,
        "pointer": list(pointer),
        "state": "active" if pointer else "done",
        "due_at": due_at,
        "claim": None,
        "now": now,
    }

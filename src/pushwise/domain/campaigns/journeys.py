"""Triggered journeys as a small state machine: parse once, then step one user's run at a time.

A journey is `trigger` (an event type, with an optional `where` rule on the event and
the user), `steps` (`wait_seconds`, `wait_until_local`, `if`/`then`/`else`, `notify`),
optional `exit` events (`{"event": "purchased"}` or `{"events": ["purchased",
"unsubscribed"]}`: any of them ends a user's run) and a re-entry rule. A run's place is a
*pointer*: the path of list positions and branch names to its next step, e.g. `(1, "then", 0)`.
`step` is pure: given a run's pointer it says what to do next: send a notification, sleep until a time,
ask for a condition's answer (the caller evaluates it against the store and calls again),
or finish. State lives in the database (`journey_runs`), timers are due rows the leader
sweeps, so a journey survives restarts and kills and runs on the injected clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pushwise.domain.local_time import next_local_occurrence

Pointer = tuple[int | str, ...]
_LOCAL_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_STEPS = 50
MAX_DEPTH = 5
MAX_EXIT_EVENTS = 10


class JourneyInvalid(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float


@dataclass(frozen=True, slots=True)
class WaitUntilLocal:
    time: str  # "HH:MM" in the user's zone


@dataclass(frozen=True, slots=True)
class Branch:
    rule: Mapping[str, Any]
    then: tuple[Step, ...]
    otherwise: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Notify:
    body: Mapping[str, Any]  # a `POST /v1/notifications` body without "to"


Step = Wait | WaitUntilLocal | Branch | Notify


@dataclass(frozen=True, slots=True)
class Journey:
    trigger: str
    where: Mapping[str, Any] | None
    steps: tuple[Step, ...]
    exit_events: frozenset[str]  # any of them ends the user's run
    reentry_seconds: float | None  # None: a user enters once


def parse_journey(definition: Mapping[str, Any]) -> Journey:
    trigger = definition.get("trigger")
    if not isinstance(trigger, Mapping) or not isinstance(trigger.get("event"), str) or not trigger["event"]:
        raise JourneyInvalid("trigger", 'a journey starts on an event: {"event": "added_to_cart"}')
    where = trigger.get("where")
    if where is not None and not isinstance(where, Mapping):
        raise JourneyInvalid("trigger.where", "a rule")
    exit_events = _exit_events(definition.get("exit"))
    reentry = definition.get("reentry_seconds")
    if reentry is not None and (
        not isinstance(reentry, int | float) or isinstance(reentry, bool) or reentry < 0
    ):
        raise JourneyInvalid("reentry_seconds", "seconds, 0 or more")
    steps = _steps(definition.get("steps"), "steps", depth=0)
    if not any(_notifies(steps)):
        raise JourneyInvalid("steps", "a journey needs at least one notify step")
    return Journey(
        trigger["event"], where, steps, exit_events, float(reentry) if reentry is not None else None
    )


def _exit_events(raw: Any) -> frozenset[str]:
    """`{"event": e}` (the first form, kept) or `{"events": [e, ...]}`; none when absent."""
    if raw is None:
        return frozenset()
    usage = 'an exit is {"event": "purchased"} or {"events": ["purchased", "unsubscribed"]}'
    if not isinstance(raw, Mapping) or len(raw.keys() & {"event", "events"}) != 1 or len(raw) != 1:
        raise JourneyInvalid("exit", usage)
    if "event" in raw:
        if not isinstance(raw["event"], str) or not raw["event"]:
            raise JourneyInvalid("exit.event", usage)
        return frozenset({raw["event"]})
    events = raw["events"]
    if not isinstance(events, list) or not 0 < len(events) <= MAX_EXIT_EVENTS:
        raise JourneyInvalid("exit.events", f"a list of 1 to {MAX_EXIT_EVENTS} event types")
    for index, one in enumerate(events):
        if not isinstance(one, str) or not one:
            raise JourneyInvalid(f"exit.events[{index}]", "an event type")
    return frozenset(events)


def _notifies(steps: Sequence[Step]) -> list[bool]:
    found = []
    for one in steps:
        if isinstance(one, Notify):
            found.append(True)
        elif isinstance(one, Branch):
            found += _notifies(one.then) + _notifies(one.otherwise)
    return found


def _steps(raw: Any, path: str, depth: int) -> tuple[Step, ...]:
    if not isinstance(raw, list) or (not raw and depth == 0):
        raise JourneyInvalid(path, "a non-empty list of steps")
    if len(raw) > MAX_STEPS or depth > MAX_DEPTH:
        raise JourneyInvalid(path, f"at most {MAX_STEPS} steps, nested at most {MAX_DEPTH} deep")
    return tuple(_step(item, f"{path}[{index}]", depth) for index, item in enumerate(raw))


def _step(raw: Any, path: str, depth: int) -> Step:
    if not isinstance(raw, Mapping) or len(raw.keys() - {"then", "else"}) != 1:
        raise JourneyInvalid(path, "one of wait_seconds, wait_until_local, if (with then/else), notify")
    if "wait_seconds" in raw:
        seconds = raw["wait_seconds"]
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not 0 < seconds <= 90 * 86_400
        ):
            raise JourneyInvalid(f"{path}.wait_seconds", "seconds, more than 0 and at most 90 days")
        return Wait(float(seconds))
    if "wait_until_local" in raw:
        at = raw["wait_until_local"]
        if not isinstance(at, str) or not _LOCAL_TIME.match(at):
            raise JourneyInvalid(f"{path}.wait_until_local", "a local time HH:MM")
        return WaitUntilLocal(at)
    if "if" in raw:
        if not isinstance(raw["if"], Mapping):
            raise JourneyInvalid(f"{path}.if", "a rule")
        then = _steps(raw.get("then", []), f"{path}.then", depth + 1)
        otherwise = _steps(raw.get("else", []), f"{path}.else", depth + 1)
        return Branch(raw["if"], then, otherwise)
    if "notify" in raw:
        body = raw["notify"]
        if not isinstance(body, Mapping) or "to" in body:
            raise JourneyInvalid(
                f"{path}.notify", "a notification body without 'to' (the user is the journey's)"
            )
        return Notify(body)
    raise JourneyInvalid(path, "one of wait_seconds, wait_until_local, if (with then/else), notify")


@dataclass(frozen=True, slots=True)
class SendNow:
    body: Mapping[str, Any]
    step_id: str  # stable per step: makes the send idempotent across retries
    next: Pointer


@dataclass(frozen=True, slots=True)
class SleepUntil:
    until: float
    next: Pointer


@dataclass(frozen=True, slots=True)
class NeedsAnswer:
    rule: Mapping[str, Any]
    pointer: Pointer  # call `step` again with `answer` at this same pointer


@dataclass(frozen=True, slots=True)
class Finished:
    pass


Action = SendNow | SleepUntil | NeedsAnswer | Finished


def step(
    journey: Journey, pointer: Pointer, *, now: float, timezone: str | None, answer: bool | None = None
) -> Action:
    """What to do at `pointer`; a branch needs its condition's `answer` (else `NeedsAnswer`)."""
    located = _locate(journey.steps, pointer)
    if located is None:
        return Finished()
    current, following = located
    if isinstance(current, Notify):
        return SendNow(current.body, "/".join(map(str, pointer)), following)
    if isinstance(current, Wait):
        return SleepUntil(now + current.seconds, following)
    if isinstance(current, WaitUntilLocal):
        return SleepUntil(next_local_occurrence(current.time, timezone, now), following)
    if answer is None:
        return NeedsAnswer(current.rule, pointer)
    branch = "then" if answer else "else"
    inner = current.then if answer else current.otherwise
    if inner:
        return step(journey, (*pointer, branch, 0), now=now, timezone=timezone)
    return SleepUntil(now, following) if following else Finished()


def _locate(steps: tuple[Step, ...], pointer: Pointer) -> tuple[Step, Pointer] | None:
    """The step at `pointer` and the pointer after it (stepping out of finished branches)."""
    if not pointer:
        return None
    chain: list[tuple[tuple[Step, ...], int, Pointer]] = []  # (list, index, its pointer prefix)
    current_list: tuple[Step, ...] = steps
    prefix: Pointer = ()
    position = 0
    while True:
        index = pointer[position]
        if not isinstance(index, int) or not 0 <= index < len(current_list):
            return None
        chain.append((current_list, index, prefix))
        if position + 1 == len(pointer):
            break
        node, branch = current_list[index], pointer[position + 1]
        if not isinstance(node, Branch) or branch not in ("then", "else"):
            return None
        current_list = node.then if branch == "then" else node.otherwise
        prefix = (*prefix, index, branch)
        position += 2
    found = chain[-1][0][chain[-1][1]]
    for listed, index, list_prefix in reversed(chain):
        if index + 1 < len(listed):
            return found, (*list_prefix, index + 1)
    return found, ()  # the last step of the journey: nothing after it


START: Pointer = (0,)

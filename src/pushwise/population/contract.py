"""The population study's plug-in contract (issue 13): what a model of a shop's users must answer.

Outside models are written against these four names, so they stay as they are: fields may be
added with defaults, never renamed or removed. A model sees pushes only as a phone would (what
reached the device, with its text, category and time) and answers only with the events a real
app would post to `POST /v1/events`, plus two that a phone does without the app's help:
`uninstall` (the study turns it into a dead token at the provider simulator) and
`disable_push` (a dead token too, and a `permission_changed` event, as an app's SDK reports it).
Pushwise learns only from those events, never from a model's hidden `state`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

Platform = Literal["ios", "android", "web"]

# The two event types a phone produces without the app: the study translates them (see above).
UNINSTALL = "uninstall"
DISABLE_PUSH = "disable_push"


@dataclass
class SimUser:
    """One simulated person with the shop's app on one device.

    `external_id` is the id the shop uses (`user_id` of its events); `timezone` an IANA zone;
    `attributes` what the shop knows and stores on the user; `state` belongs to the model alone
    (pushwise never sees it). `vendor` names the phone maker's push service on an Android phone
    without Google services (China): `huawei`, `honor`, `xiaomi`, `oppo` or `vivo`; None: FCM.
    """

    external_id: str
    timezone: str
    country: str
    locale: str
    platform: Platform
    push_enabled: bool
    attributes: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    vendor: str | None = None


@dataclass(frozen=True)
class SeenPush:
    """A push as it reached the user's device: when, what it said, and the ids to answer with."""

    at: datetime
    title: str
    body: str
    category: str | None
    data: dict[str, Any]
    notification_id: str
    delivery_id: str
    channel: str


@dataclass(frozen=True)
class SimEvent:
    """What the user did: `type` is an event type of `POST /v1/events` (`app_open`, `item_viewed`,
    `added_to_cart`, `purchased`, `opened`, `clicked`, `converted`, `dismissed`, `not_interested`,
    `too_many`, `unsubscribed`, `custom:<name>`, ...) or `uninstall` / `disable_push`.

    `at` is an aware datetime; `value` an amount (purchases); `properties` go with the event
    (`item_id` names the item a behaviour event is about). An event answering a push is tied to
    that push by the study (the model need not repeat its ids).
    """

    type: str
    at: datetime
    category: str | None = None
    value: float | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class PopulationModel(Protocol):
    """A plug-in population: `--model package.module:factory` names a callable returning one."""

    def users(self, rng: random.Random) -> Sequence[SimUser]:
        """The simulated users (an outside model picks its own size)."""
        ...

    def day(self, user: SimUser, start: datetime, rng: random.Random) -> Sequence[SimEvent]:
        """Organic behaviour in the user's day starting at `start` (UTC midnight of the day)."""
        ...

    def react(self, user: SimUser, push: SeenPush, rng: random.Random) -> Sequence[SimEvent]:
        """What the user does with a push that reached the device (possibly nothing)."""
        ...

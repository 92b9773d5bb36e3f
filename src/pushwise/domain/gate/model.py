"""The gate's vocabulary: its decisions, the delivery it decides about, and the user's state.

The app's rules are in `policy.py`. A check returns a decision, or passes (None, or
`Passed` with a word for `explain`); `decision.py` walks the checks in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.audience.learning import PRIOR_OPEN_RATE
from pushwise.domain.audience.preferences import NO_PREFERENCES, Preferences
from pushwise.domain.gate.policy import GatePolicy
from pushwise.domain.uplift.decision import Decision as UpliftDecision
from pushwise.domain.values import frozen_value


@dataclass(frozen=True, slots=True)
class Send:
    pass


@dataclass(frozen=True, slots=True)
class Defer:
    """Not now: claim it again at `until`. Not an attempt."""

    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class Suppress:
    """Never send it: the delivery ends `suppressed` with `reason`."""

    reason: str
    detail: str = field(default="", compare=False)  # what `explain` and the trail add (a model's scores)


@dataclass(frozen=True, slots=True)
class HoldOut:
    """The user is in the notification's holdout: recorded as `held_out`, never sent."""

    reason: str = "holdout"


@dataclass(frozen=True, slots=True)
class Merge:
    """Goes out inside the digest whose push is the delivery `carrier` (state `digested`).

    The reason names no carrier: reasons are metric labels, and must stay few. The carrier is
    on the delivery's trail and in the digest's parts.
    """

    carrier: int
    reason: str = "digest"


Held = Defer | Suppress | HoldOut | Merge  # every decision but sending now
Decision = Send | Held
SEND = Send()


class Passed:
    """A check that let the delivery through, and what it saw (for `explain`).

    The words are formatted only when read: the engine decides far more often than anyone
    asks why, and formatting on every decision cost more than most checks do.
    """

    __slots__ = ("_args", "_words")

    def __init__(self, words: str = "", *args: object) -> None:
        self._words = words
        self._args = args

    @property
    def detail(self) -> str:
        return self._words.format(*self._args) if self._args else self._words

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Passed) and other.detail == self.detail

    def __hash__(self) -> int:
        return hash(self.detail)

    def __repr__(self) -> str:
        return f"Passed({self.detail!r})"


Verdict = Held | Passed

PRIORITY_RANK = {"low": 0, "normal": 1, "transactional": 2}


@dataclass(frozen=True, slots=True)
class GateNotice:
    """What the gate needs of a notification, worked out once per notification."""

    id: str = ""
    created_at: float = 0.0
    expires_at: float | None = None
    priority: str = "normal"  # low | normal | transactional
    collapse_key: str | None = None
    content_key: str | None = None  # same words to the same user: the same key (`content_key`)
    campaign: str | None = None
    on_cap: str = "defer"  # defer | suppress: what a cap, the gap or fatigue does with it
    optimize_within: float | None = None  # seconds: send-time optimisation over this span
    holdout_percent: float = 0.0
    rate_per_minute: float | None = None
    calendar: tuple[Mapping[str, Any], ...] = ()  # the scenario calendar's rules (`calendar.py`)
    uplift_model: str | None = None  # targeting by uplift (`uplift.py`): the model that decides
    uplift_cost: float | None = None  # its cost per send override, None: the model's own


@dataclass(frozen=True, slots=True)
class Targeting:
    """An uplift model's answer for one delivery's user, scored before the gate runs.

    `decision` is None when the model could not score (deleted, failed retraining, the
    learning extra missing); `problem` says why.
    """

    model: str
    cost: float | None  # the notification's override, None: the model's own
    decision: UpliftDecision | None
    problem: str = ""


_NO_NOTICE = GateNotice()


def device_subject(device_id: str | None) -> str:
    """The ledger key of a device registered without a user (erasing its user clears these too)."""
    return f"device:{device_id}"


@frozen_value
class GateDelivery:
    """What the gate needs to know of one delivery."""

    channel: str
    category: str | None
    transactional: bool
    id: int = 0
    notice: GateNotice = _NO_NOTICE
    app_id: str = ""
    user_id: str | None = None
    device_id: str | None = None
    timezone: str | None = None  # the device's zone (else the user's), as the claim read it
    attempts: int = 0
    last_reason: str | None = None  # why it was last held back (a paced one keeps its slot)
    targeting: Targeting | None = None  # the uplift model's answer, when the notice names one

    @property
    def subject(self) -> str:
        """Whose ledger it counts in: the user's, or the device's when it has no user."""
        return self.user_id or device_subject(self.device_id)


@dataclass(frozen=True, slots=True)
class SentPush:
    """One push the user got (or is being sent) that counts against caps: the gate's ledger."""

    delivery_id: int
    notification_id: str
    at: float
    channel: str
    device_id: str | None = None
    category: str | None = None
    campaign: str | None = None
    content_key: str | None = None
    collapse_key: str | None = None
    marketing: bool = True  # the vendor class, for phone makers' daily quotas
    capped: bool = True  # counts against caps, gap, duplicates and fatigue (not transactional)


@dataclass(frozen=True, slots=True)
class OpenDigest:
    """A digest being gathered: its push is the delivery `carrier`, due at `closes_at`."""

    carrier: int
    key: str
    closes_at: float
    parts: int = 0


@dataclass(frozen=True, slots=True)
class UserState:
    """What the gate knows of the delivery's user; a delivery without a user gets the defaults."""

    preferences: Preferences = NO_PREFERENCES
    timezone: str | None = None
    country: str | None = None
    sent: tuple[SentPush, ...] = ()  # capped pushes over the policy's longest window, oldest first
    vendor_sent: tuple[SentPush, ...] = ()  # pushes on a phone maker's channel, this Shanghai day
    engaged: frozenset[str] = frozenset()  # notifications the user opened or clicked
    not_interested: frozenset[str] = frozenset()  # categories the user said no more of
    too_many: tuple[float, ...] = ()  # when the user said "too many"
    open_propensity: float = PRIOR_OPEN_RATE
    send_hours: Mapping[int, float] = field(default_factory=dict)  # hour of the week -> decayed weight
    digests: Mapping[str, OpenDigest] = field(default_factory=dict)  # by digest key

    def counts_notification(self, notification_id: str) -> bool:
        return any(push.notification_id == notification_id for push in self.sent)


# One check of the gate: None (or `Passed`) lets the delivery pass on to the next check.
Check = Callable[[GateDelivery, UserState, GatePolicy, float], Verdict | None]

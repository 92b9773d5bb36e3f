"""An app's rules for the gate (`PUT /v1/apps/{app_id}/policy`), with their defaults.

A new app's policy switches nothing on but the phone makers' own quotas: no caps, no
gap, no quiet hours, no fatigue, no digests, so an app that never set a policy sends as
before. `docs/gate.md` gives a recommended policy and where each default comes from.

The stored document is what the API validated; `policy_of` reads it (a part left out
takes its default, a part given as null is off) and `document_of` writes one back with
every default filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pushwise.domain.audience.preferences import Category
from pushwise.domain.china.quotas import DEFAULT_QUOTAS, QuotaRule, effective_quotas, quota_settings

HOUR = 3600.0
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `max` notifications to a user in any `window_seconds`, counting only those of
    `category` and `channel` when given; `per_campaign`: counted for each campaign apart."""

    window_seconds: int
    max: int
    category: str | None = None
    channel: str | None = None
    per_campaign: bool = False

    @property
    def reason(self) -> str:
        reason = f"cap:{self.window_seconds}"
        if self.category is not None:
            reason += f":{self.category}"
        if self.channel is not None:
            reason += f"/{self.channel}"
        return reason + ("/campaign" if self.per_campaign else "")


@dataclass(frozen=True, slots=True)
class QuietWindow:
    """Local wall-clock times; `start` after `end` spans midnight. A push due inside waits for
    `end`, spread over `spread_minutes` so the morning is no thundering herd."""

    start: str
    end: str
    spread_minutes: int = 30


@dataclass(frozen=True, slots=True)
class FatigueModel:
    """Adaptive fatigue (`fatigue.py`): the defaults and their sources are in docs/gate.md."""

    budget: float = 4.0
    half_life_hours: float = 48.0
    ignored_weight: float = 2.0
    ignore_after: int = 3
    propensity_floor: float = 0.5
    too_many_factor: float = 0.5
    too_many_half_life_days: float = 30.0

    @property
    def lookback(self) -> float:
        """Beyond five half-lives a push weighs under 3% of a fresh one: the ledger read stops there."""
        return 5 * self.half_life_hours * HOUR


@dataclass(frozen=True, slots=True)
class DigestRule:
    """Notifications of at most `max_priority` (in `category`, if given) to one device within
    `window_seconds` go out as one push, worded by `template` (an app template) or the built-in words."""

    window_seconds: int = 3600
    max_priority: str = "normal"
    category: str | None = None
    template: str | None = None


@dataclass(frozen=True, slots=True)
class SendTimeModel:
    """Send-time optimisation (`send_time.py`): the user's decayed histogram of opens and clicks
    per local hour of the week, shrunk toward the app's population by `prior_strength` opens."""

    prior_strength: float = 5.0
    spread_minutes: int = 20


@dataclass(frozen=True, slots=True)
class GatePolicy:
    """One app's rules, with what the gate learned of its population (the send-time histogram)."""

    categories: Mapping[str, Category] = field(default_factory=dict)
    caps: tuple[Cap, ...] = ()
    cap_scope: str = "user"  # user: caps count across channels; channel: each channel apart
    min_gap_seconds: int = 0
    duplicate_window_seconds: int = 0
    quiet_hours: QuietWindow | None = None
    default_timezone: str = "UTC"
    fatigue: FatigueModel | None = None
    digest: DigestRule | None = None
    send_time: SendTimeModel = field(default_factory=SendTimeModel)
    max_per_minute: Mapping[str, float] = field(default_factory=dict)  # per channel, app-wide
    vendor_quotas: Mapping[str, QuotaRule] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    population_hours: Mapping[int, float] = field(default_factory=dict)  # hour of week -> weight

    @property
    def counts_sends(self) -> bool:
        """Whether pushes go into the ledger (the phone makers' quotas need it on their channels)."""
        return bool(self.caps or self.min_gap_seconds or self.duplicate_window_seconds or self.fatigue)

    def lookback(self) -> float:
        """How far back the ledger is read: the longest window any rule of this policy looks at."""
        spans = [float(cap.window_seconds) for cap in self.caps]
        spans += [float(self.min_gap_seconds), float(self.duplicate_window_seconds), DAY]
        if self.fatigue is not None:
            spans.append(self.fatigue.lookback)
        return max(spans)


DEFAULT_POLICY = GatePolicy()


def _part(kind: type[Any], raw: Any) -> Any:
    known = {item.name for item in fields(kind)}
    return kind(**{name: value for name, value in dict(raw).items() if name in known})


def policy_of(document: Mapping[str, Any], categories: Mapping[str, Category] | None = None) -> GatePolicy:
    """The policy a stored document describes; what it leaves out keeps its default."""
    policy = replace(DEFAULT_POLICY, categories=dict(categories or {}))
    changes: dict[str, Any] = {}
    if "caps" in document:
        changes["caps"] = tuple(_part(Cap, cap) for cap in document["caps"] or ())
    for name in ("cap_scope", "min_gap_seconds", "duplicate_window_seconds", "default_timezone"):
        if document.get(name) is not None:
            changes[name] = document[name]
    for name, kind in (("quiet_hours", QuietWindow), ("fatigue", FatigueModel), ("digest", DigestRule)):
        if name in document:
            changes[name] = _part(kind, document[name]) if document[name] is not None else None
    if document.get("send_time") is not None:
        changes["send_time"] = _part(SendTimeModel, document["send_time"])
    if document.get("max_per_minute") is not None:
        changes["max_per_minute"] = {str(k): float(v) for k, v in document["max_per_minute"].items()}
    if document.get("vendor_quotas") is not None:
        changes["vendor_quotas"] = effective_quotas(document["vendor_quotas"])
    return replace(policy, **changes)


def _plain(value: Any) -> Any:
    return {item.name: getattr(value, item.name) for item in fields(value)} if value is not None else None


def document_of(policy: GatePolicy) -> dict[str, Any]:
    """The policy as `GET /v1/apps/{app_id}/policy` shows it: every default filled in."""
    return {
        "caps": [_plain(cap) for cap in policy.caps],
        "cap_scope": policy.cap_scope,
        "min_gap_seconds": policy.min_gap_seconds,
        "duplicate_window_seconds": policy.duplicate_window_seconds,
        "quiet_hours": _plain(policy.quiet_hours),
        "default_timezone": policy.default_timezone,
        "fatigue": _plain(policy.fatigue),
        "digest": _plain(policy.digest),
        "send_time": _plain(policy.send_time),
        "max_per_minute": dict(policy.max_per_minute),
        "vendor_quotas": quota_settings(policy.vendor_quotas),
    }

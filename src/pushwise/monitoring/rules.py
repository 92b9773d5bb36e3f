"""Alert rules and how they judge a moment's signals. Pure: no I/O, time passed in.

Each rule yields one finding per subject (a channel): holding, not holding, or
`None` when there is too little traffic to judge (the alert then keeps its state,
so a quiet minute neither fires nor resolves anything).

Defaults detect a total provider outage within a minute: `success_rate` looks at
the last 30 s in 10-second buckets, so 40 s after the outage began its window
holds only failed attempts, and the evaluator runs every few seconds. After
recovery the window fills with successes and the alert resolves within a minute.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pushwise.store.rollups import FINE_SECONDS, BucketCount, QueueGauge

RuleKind = Literal[
    "success_rate",
    "reason_spike",
    "dead_token_surge",
    "queue_lag",
    "circuit_open",
    "credentials",
    "vendor_quota_spent",
]
RULE_KINDS: tuple[str, ...] = RuleKind.__args__  # type: ignore[attr-defined]
# Attempt outcomes that say nothing about the provider's health: the device is gone.
_NEUTRAL_OUTCOMES = frozenset({"token_dead"})


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: RuleKind
    threshold: float
    window_seconds: float = 60.0
    min_attempts: int = 0
    reasons: tuple[str, ...] = ()
    repeat_seconds: float = 3600.0
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


DEFAULT_RULES: tuple[Rule, ...] = (
    # fires when fewer than 80% of attempts succeed over 30 s (a total outage: within ~45 s)
    Rule("success_rate", "success_rate", 0.8, window_seconds=30, min_attempts=5, repeat_seconds=900),
    Rule(
        "throttled_or_unavailable",
        "reason_spike",
        0.2,
        window_seconds=60,
        min_attempts=10,
        reasons=(
            "TooManyRequests",
            "ServiceUnavailable",
            "InternalServerError",
            "Shutdown",
            "QUOTA_EXCEEDED",
            "UNAVAILABLE",
            "INTERNAL",
        ),
        repeat_seconds=900,
    ),
    Rule(
        "dead_token_surge", "dead_token_surge", 0.2, window_seconds=300, min_attempts=20, repeat_seconds=3600
    ),
    # The phone makers' words for "slow down" and "unavailable" (pushwise.domain.china.errors).
    Rule(
        "vendor_throttled_or_unavailable",
        "reason_spike",
        0.2,
        window_seconds=60,
        min_attempts=10,
        reasons=(
            "huawei:81000001",
            "huawei:80000001",
            "huawei:HTTP502",
            "huawei:HTTP503",
            "honor:HTTP503",
            "honor:503",
            "xiaomi:10027",
            "xiaomi:1",
            "xiaomi:10002",
            "oppo:-1",
            "oppo:-2",
            "oppo:13",
            "oppo:55",
            "vivo:HTTP503",
            "vivo:503",
        ),
        repeat_seconds=900,
    ),
    # fires when a vendor refuses this many pushes in an hour because a daily quota is spent
    Rule("vendor_quota_spent", "vendor_quota_spent", 100.0, window_seconds=3600, repeat_seconds=21600),
    Rule("queue_lag", "queue_lag", 120.0, repeat_seconds=900),
    Rule("circuit_open", "circuit_open", 0.0, repeat_seconds=900),
    # fires for invalid credentials or ones expiring within 14 days
    Rule("credentials", "credentials", 14 * 86400.0, repeat_seconds=86400),
)


class RuleError(ValueError):
    """`field` is the index of the offending rule in the list given (the API's error field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def parse_rules(raw: Iterable[Mapping[str, Any]]) -> tuple[Rule, ...]:
    """Validate rules from the API or a file; a rule named like a default replaces it."""
    rules: dict[str, Rule] = {}
    for index, item in enumerate(raw):
        data = dict(item)
        base = next((r for r in DEFAULT_RULES if r.name == data.get("name", data.get("kind"))), None)
        kind = data.get("kind") or (base.kind if base else data.get("name"))
        if kind not in RULE_KINDS:
            raise RuleError(f"unknown rule kind {kind!r}; known: {', '.join(RULE_KINDS)}", f"[{index}]")
        try:
            rule = _rule_from(data, kind, base)
        except (TypeError, ValueError) as error:
            raise RuleError(f"rule {data.get('name', kind)!r}: {error}", f"[{index}]") from error
        if rule.window_seconds < FINE_SECONDS or rule.repeat_seconds <= 0 or rule.threshold < 0:
            raise RuleError(
                f"rule {rule.name!r}: window_seconds >= {FINE_SECONDS}, repeat_seconds > 0 and "
                "threshold >= 0 are required",
                f"[{index}]",
            )
        rules[rule.name] = rule
    return tuple(rules.values())


def _rule_from(data: dict[str, Any], kind: str, base: Rule | None) -> Rule:
    known = {f for f in Rule.__dataclass_fields__}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    values = {**(base.to_dict() if base else {}), **data, "kind": kind}
    values.setdefault("name", kind)
    if "threshold" not in values:
        raise ValueError("threshold is required")
    min_attempts = _number(values, "min_attempts", 0)
    if min_attempts != int(min_attempts):
        raise ValueError("min_attempts must be a whole number")
    reasons = values.get("reasons", ())
    if not isinstance(reasons, list | tuple) or not all(isinstance(r, str) for r in reasons):
        raise ValueError("reasons must be a list of strings")
    if not isinstance(values["name"], str) or not values["name"]:
        raise ValueError("name must be a non-empty string")
    if not isinstance(values.get("enabled", True), bool):  # "false" must not read as true
        raise ValueError("enabled must be true or false")
    return Rule(
        name=values["name"],
        kind=kind,  # type: ignore[arg-type]
        threshold=_number(values, "threshold"),
        window_seconds=_number(values, "window_seconds", 60.0),
        min_attempts=int(min_attempts),
        reasons=tuple(reasons),
        repeat_seconds=_number(values, "repeat_seconds", 3600.0),
        enabled=values.get("enabled", True),
    )


def _number(values: Mapping[str, Any], key: str, default: float | None = None) -> float:
    """JSON numbers only: a quoted "0.9" or a `true` is a mistake in the rule, not a value."""
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    return float(value)


def effective_rules(overrides: Sequence[Rule]) -> tuple[Rule, ...]:
    """The defaults, each replaced by an override of the same name, plus extra overrides."""
    by_name = {rule.name: rule for rule in DEFAULT_RULES}
    by_name.update({rule.name: rule for rule in overrides})
    return tuple(rule for rule in by_name.values() if rule.enabled)


@dataclass(frozen=True, slots=True)
class CredentialStatus:
    channel: str
    status: str  # ok | expiring | invalid
    detail: str
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class Signals:
    """What the rules look at for one app at one moment."""

    now: float
    buckets: Sequence[BucketCount]
    queues: Sequence[QueueGauge] = ()
    circuits: Mapping[str, str] = field(default_factory=dict)  # channel -> state
    credentials: Sequence[CredentialStatus] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    subject: str
    holding: bool | None
    value: float | None
    summary: str


def judge(rule: Rule, signals: Signals) -> list[Finding]:
    judges = {
        "success_rate": _success_rate,
        "reason_spike": _reason_spike,
        "dead_token_surge": _dead_token_surge,
        "queue_lag": _queue_lag,
        "circuit_open": _circuit_open,
        "credentials": _credentials,
        "vendor_quota_spent": _vendor_quota_spent,
    }
    return judges[rule.kind](rule, signals)


def _attempts_by_channel(rule: Rule, signals: Signals) -> dict[str, dict[tuple[str, str], int]]:
    """channel -> (event/outcome, reason) -> count, over the rule's window."""
    since = signals.now - rule.window_seconds
    counts: defaultdict[str, defaultdict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for row in signals.buckets:
        if row.bucket + FINE_SECONDS > since and row.key.event in ("attempt", "pruned"):
            outcome = row.key.outcome if row.key.event == "attempt" else "pruned"
            counts[row.key.channel][(outcome, row.key.reason)] += row.count
    return {channel: dict(c) for channel, c in counts.items()}


def _ratio_findings(
    rule: Rule,
    signals: Signals,
    *,
    numerator: set[str] | None,
    reasons: set[str] | None,
    describe: str,
    below: bool,
) -> list[Finding]:
    findings = []
    for channel, counts in sorted(_attempts_by_channel(rule, signals).items()):
        relevant = {k: v for k, v in counts.items() if k[0] != "pruned"}
        if below:  # success rate ignores dead tokens: those are the devices' state, not the provider's
            relevant = {k: v for k, v in relevant.items() if k[0] not in _NEUTRAL_OUTCOMES}
        total = sum(relevant.values())
        if total < max(1, rule.min_attempts):
            findings.append(Finding(rule, channel, None, None, f"{channel}: too little traffic to judge"))
            continue
        if numerator is not None:
            hits = sum(v for (outcome, _), v in relevant.items() if outcome in numerator)
        elif reasons is not None:
            hits = sum(v for (_, reason), v in relevant.items() if reason in reasons)
        else:
            hits = sum(v for (outcome, _), v in counts.items() if outcome == "pruned")
        ratio = hits / total
        holding = ratio < rule.threshold if below else ratio > rule.threshold
        summary = (
            f"{channel}: {describe} {ratio:.0%} of {total} attempts in the last {rule.window_seconds:g} s"
        )
        findings.append(Finding(rule, channel, holding, round(ratio, 4), summary))
    return findings


def _success_rate(rule: Rule, signals: Signals) -> list[Finding]:
    return _ratio_findings(
        rule, signals, numerator={"delivered"}, reasons=None, describe="success rate", below=True
    )


def _reason_spike(rule: Rule, signals: Signals) -> list[Finding]:
    return _ratio_findings(
        rule,
        signals,
        numerator=None,
        reasons=set(rule.reasons),
        describe=f"{'/'.join(rule.reasons[:2])}… answers were",
        below=False,
    )


def _dead_token_surge(rule: Rule, signals: Signals) -> list[Finding]:
    return _ratio_findings(
        rule, signals, numerator=None, reasons=None, describe="dead tokens were", below=False
    )


def _queue_lag(rule: Rule, signals: Signals) -> list[Finding]:
    findings = []
    for queue in signals.queues:
        lag = 0.0 if queue.oldest_due_at is None else max(0.0, signals.now - queue.oldest_due_at)
        summary = f"{queue.channel}: the oldest due delivery has waited {lag:.0f} s ({queue.pending} pending)"
        findings.append(Finding(rule, queue.channel, lag > rule.threshold, round(lag, 1), summary))
    return findings


def _circuit_open(rule: Rule, signals: Signals) -> list[Finding]:
    return [
        Finding(
            rule, channel, state == "open", 1.0 if state == "open" else 0.0, f"{channel}: circuit {state}"
        )
        for channel, state in sorted(signals.circuits.items())
    ]


def _credentials(rule: Rule, signals: Signals) -> list[Finding]:
    findings = []
    for cred in signals.credentials:
        left = None if cred.expires_at is None else cred.expires_at - signals.now
        holding = cred.status == "invalid" or (left is not None and left < rule.threshold)
        summary = f"{cred.channel} credentials: {cred.detail}"
        findings.append(Finding(rule, cred.channel, holding, None if left is None else round(left), summary))
    return findings


def _vendor_quota_spent(rule: Rule, signals: Signals) -> list[Finding]:
    """Per vendor: "quota spent" answers in the window (the gate should have held them back)."""
    since = signals.now - rule.window_seconds
    spent: defaultdict[str, int] = defaultdict(int)
    for row in signals.buckets:
        if row.key.event == "quota" and row.bucket + FINE_SECONDS > since:
            spent[row.key.channel] += row.count
    return [
        Finding(
            rule,
            vendor,
            count >= rule.threshold,
            float(count),
            f"{vendor}: {count} pushes refused for a spent daily quota in the last {rule.window_seconds:g} s",
        )
        for vendor, count in sorted(spent.items())
    ]

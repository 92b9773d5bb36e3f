"""Alert evaluation: judge every app's rules, then fire, repeat or resolve.

One pass is `evaluate()`, on the injected clock, so tests and simulations drive
it step by step. It must run in one process per cluster (the leader): the
monitoring service calls it only when its `is_leader` hook says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pushwise.domain.clock import Clock
from pushwise.monitoring.circuits import ClusterEndpoints
from pushwise.monitoring.rules import (
    CredentialStatus,
    Finding,
    Rule,
    Signals,
    effective_rules,
    judge,
    parse_rules,
)
from pushwise.monitoring.sinks import AlertMessage, AlertSinks
from pushwise.store.alerts import AlertEvent, AlertRepository
from pushwise.store.apps import AppRepository
from pushwise.store.rollups import QueueGauge, RollupRepository

log = logging.getLogger(__name__)
DEFAULT_SCOPE = "default"  # the key of a rules file's section for every app


@dataclass(frozen=True, slots=True)
class RuleFile:
    """Rules from the settings file: a `default` section and sections named by app id."""

    sections: Mapping[str, Sequence[Rule]]

    def for_app(self, app_id: str) -> list[Rule]:
        return [*self.sections.get(DEFAULT_SCOPE, ()), *self.sections.get(app_id, ())]


class AlertEvaluator:
    def __init__(
        self,
        alerts: AlertRepository,
        rollups: RollupRepository,
        apps: AppRepository,
        circuits: ClusterEndpoints,
        sinks: AlertSinks,
        clock: Clock,
        rule_file: RuleFile | None = None,
    ) -> None:
        self._alerts = alerts
        self._rollups = rollups
        self._apps = apps
        self._circuits = circuits
        self._sinks = sinks
        self._clock = clock
        self._file = rule_file or RuleFile({})

    async def rules_for(self, app_id: str) -> tuple[Rule, ...]:
        """Defaults, overridden by the rules file, overridden by the app's rules set through the API."""
        stored = await self._alerts.rules(app_id)
        return effective_rules([*self._file.for_app(app_id), *parse_rules(stored or [])])

    async def evaluate(self) -> list[AlertMessage]:
        sent: list[AlertMessage] = []
        for app in await self._apps.list_all():
            try:
                sent.extend(await self.evaluate_app(app.id))
            except Exception:  # one app's trouble must not silence the others
                log.exception("alert evaluation failed for app %s", app.id)
        return sent

    async def evaluate_app(self, app_id: str) -> list[AlertMessage]:
        now = self._clock.now()
        rules = await self.rules_for(app_id)
        signals = await self._signals(app_id, rules, now)
        findings = [finding for rule in rules for finding in judge(rule, signals)]
        open_events = {
            (e.rule, e.subject): e for e in await self._alerts.events(app_id=app_id, state="firing")
        }
        messages = [m for f in findings if (m := await self._step(app_id, f, open_events, now)) is not None]
        names = {rule.name for rule in rules}
        for (rule_name, _subject), event in open_events.items():
            if rule_name not in names:  # rule removed or disabled: close its alert
                messages.append(await self._resolve(event, "rule disabled", event.value, now))
        if messages:
            await self._sinks.deliver(await self._alerts.sinks(app_id), messages)
        return messages

    async def _signals(self, app_id: str, rules: Sequence[Rule], now: float) -> Signals:
        longest = max((r.window_seconds for r in rules), default=60.0)
        health = await self._alerts.health(app_id)
        return Signals(
            now=now,
            buckets=await self._rollups.recent(now - longest, app_id=app_id),
            queues=await self._queues(app_id, now),
            circuits=await self._circuit_states(app_id),
            credentials=[CredentialStatus(h.channel, h.status, h.detail, h.expires_at) for h in health],
        )

    async def _queues(self, app_id: str, now: float) -> list[QueueGauge]:
        """Every configured channel's queue, empty ones too, so a drained queue resolves its lag alert."""
        found = {q.channel: q for q in await self._rollups.queue_gauges(app_id=app_id, now=now)}
        for _, channel in await self._alerts.configured_channels(app_id):
            found.setdefault(channel, QueueGauge(app_id, channel, 0, None))
        return list(found.values())

    async def _circuit_states(self, app_id: str) -> dict[str, str]:
        """Every configured channel's circuit, worst across the cluster (reports list only trouble)."""
        states = {ch: "closed" for _, ch in await self._alerts.configured_channels(app_id)}
        states.update(
            {ch: state for (app, ch), state in (await self._circuits.states()).items() if app == app_id}
        )
        return states

    async def _step(
        self, app_id: str, finding: Finding, open_events: Mapping[tuple[str, str], AlertEvent], now: float
    ) -> AlertMessage | None:
        rule = finding.rule
        event = open_events.get((rule.name, finding.subject))
        if finding.holding is None and event is not None:  # too little traffic to judge: keep firing
            finding = Finding(rule, finding.subject, True, event.value, event.summary)
        if finding.holding is None:
            return None
        if finding.holding and event is None:
            opened = await self._alerts.open_event(
                app_id, rule.name, finding.subject, finding.summary, finding.value, rule.threshold, now
            )
            return _message(opened, "firing", finding.summary, finding.value, now)
        if finding.holding and event is not None and now - (event.notified_at or 0.0) >= rule.repeat_seconds:
            await self._alerts.notified_again(event.id, finding.summary, finding.value, now)
            return _message(event, "firing", finding.summary, finding.value, now, repeat=True)
        if not finding.holding and event is not None:
            return await self._resolve(event, finding.summary, finding.value, now)
        return None

    async def _resolve(
        self, event: AlertEvent, summary: str, value: float | None, now: float
    ) -> AlertMessage:
        await self._alerts.resolve(event.id, summary, value, now)
        return _message(event, "resolved", summary, value, now)


def _message(
    event: AlertEvent, state: str, summary: str, value: float | None, now: float, *, repeat: bool = False
) -> AlertMessage:
    return AlertMessage(
        alert=event.rule,
        state=state,
        app_id=event.app_id,
        subject=event.subject,
        summary=summary,
        value=value,
        threshold=event.threshold,
        started_at=event.started_at,
        at=now,
        repeat=repeat,
    )

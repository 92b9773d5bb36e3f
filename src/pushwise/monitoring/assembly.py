"""Builds the monitoring object graph from plain values (the composition root reads the settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from pushwise.domain.clock import Clock
from pushwise.monitoring.alerting import AlertEvaluator, RuleFile
from pushwise.monitoring.circuits import CircuitStates
from pushwise.monitoring.rules import parse_rules
from pushwise.monitoring.service import Monitoring, MonitoringOptions
from pushwise.monitoring.sinks import AlertSinks, SmtpConfig
from pushwise.monitoring.tally import OutcomeTally
from pushwise.store.alerts import AlertRepository
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.db import Database
from pushwise.store.rollups import RollupRepository


def load_rule_file(path: str | None) -> RuleFile:
    """A JSON (or TOML) file `{"default": [rules], "<app id>": [rules]}`; absent means defaults only."""
    if not path:
        return RuleFile({})
    text = Path(path).read_bytes()
    if path.endswith(".toml"):
        import tomllib

        raw: dict[str, Any] = tomllib.loads(text.decode())
    else:
        raw = orjson.loads(text)
    return RuleFile({scope: parse_rules(rules) for scope, rules in raw.items()})


def build_monitoring(
    db: Database,
    clock: Clock,
    credentials: CredentialRepository,
    tally: OutcomeTally,
    circuits: CircuitStates,
    *,
    allow_private_endpoints: bool,
    smtp: SmtpConfig | None,
    rule_file: RuleFile,
    options: MonitoringOptions,
) -> Monitoring:
    rollups = RollupRepository(db)
    alerts = AlertRepository(db)
    sinks = AlertSinks(allow_private=allow_private_endpoints, smtp=smtp)
    evaluator = AlertEvaluator(alerts, rollups, AppRepository(db, clock), circuits, sinks, clock, rule_file)
    return Monitoring(
        tally=tally,
        evaluator=evaluator,
        rollups=rollups,
        alerts=alerts,
        credentials=credentials,
        clock=clock,
        options=options,
    )

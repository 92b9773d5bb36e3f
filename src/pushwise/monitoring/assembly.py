"""Builds the monitoring object graph from plain values (the composition root reads the settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from pushwise.domain.clock import Clock
from pushwise.monitoring.alerting import AlertEvaluator, RuleFile
from pushwise.monitoring.circuits import CircuitStates, ClusterEndpoints, ConnectionCounts, process_owner
from pushwise.monitoring.rules import parse_rules
from pushwise.monitoring.service import Monitoring, MonitoringOptions
from pushwise.monitoring.sinks import AlertSinks, SmtpConfig
from pushwise.monitoring.tally import OutcomeTally
from pushwise.store.alerts import AlertRepository
from pushwise.store.apps import AppRepository
from pushwise.store.circuits import EndpointReports
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
    pools: ConnectionCounts,
    *,
    allow_private_endpoints: bool,
    smtp: SmtpConfig | None,
    rule_file: RuleFile,
    options: MonitoringOptions,
) -> Monitoring:
    rollups = RollupRepository(db)
    alerts = AlertRepository(db)
    sinks = AlertSinks(allow_private=allow_private_endpoints, smtp=smtp)
    # A report missing three flushes in a row is from a process that died.
    endpoints = ClusterEndpoints(
        EndpointReports(db),
        circuits,
        pools,
        clock,
        owner=process_owner(),
        stale_seconds=3 * options.flush_seconds,
    )
    evaluator = AlertEvaluator(alerts, rollups, AppRepository(db, clock), endpoints, sinks, clock, rule_file)
    return Monitoring(
        tally=tally,
        endpoints=endpoints,
        evaluator=evaluator,
        rollups=rollups,
        alerts=alerts,
        credentials=credentials,
        clock=clock,
        options=options,
    )

"""Configuration: environment variables `PUSHWISE_*` over an optional TOML file over defaults.

Only the composition root (`bootstrap.py`) and the CLI read settings; everything
else receives the values it needs as arguments.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "PUSHWISE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./pushwise.db"
    admin_key: str | None = None
    # Key that encrypts provider secrets at rest and signs user tokens. When unset,
    # a random key is created once in `secret_key_file` (embedded single-machine default).
    secret_key: str | None = None
    secret_key_file: str = "./pushwise.key"  # noqa: S105 - a path, not a secret
    host: str = "127.0.0.1"
    port: int = 8080
    allow_private_endpoints: bool = False
    # Where users reach this server: e-mail unsubscribe links point here.
    public_base_url: str = "http://127.0.0.1:8080"
    # Web pages (origins) that may call the client-key routes from the browser, comma-separated,
    # or "*": the Web SDK on a site other than pushwise's own (docs/web-sdk.md). Empty: none.
    sdk_allowed_origins: str = ""
    # How often an open inbox stream re-reads the database for items other processes wrote.
    inbox_poll_seconds: float = 2.0
    # Off (`PUSHWISE_MONITORING=0`) skips counting outcomes and the monitoring loops (rollups,
    # alerts, credential checks): a benchmarking aid to measure what monitoring costs.
    monitoring: bool = True
    # When set, `/metrics` answers only `Authorization: Bearer <metrics_token>` (or the admin key).
    metrics_token: str | None = None
    log_level: str = "info"
    max_body_bytes: int = 1_048_576
    # Abuse limits: requests per second per API key and per client address, each with a burst of
    # twice that (0: no limit), and dashboard log-in attempts per minute per address. The budgets
    # are shared by every API process through the database, synced every `rate_limit_sync_seconds`.
    api_rate_limit: float = 1000.0
    api_rate_limit_per_ip: float = 2000.0
    dashboard_logins_per_minute: float = 10.0
    rate_limit_sync_seconds: float = 0.5
    # Slow clients: a request's headers must arrive within the first, its body within the second.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    db_pool_size: int = 10
    # delivery engine
    worker_batch_size: int = 500
    worker_concurrency: int = 4
    worker_lease_seconds: float = 60.0
    worker_poll_seconds: float = 0.2
    # After a wake-up, wait this long so a burst of small notifications is claimed together.
    worker_linger_seconds: float = 0.01
    # A batch's outcomes are written while it still sends, once this many wait or the oldest has
    # waited this long: a killed worker re-sends only what it had in flight or not yet written.
    worker_flush_count: int = 50
    worker_flush_seconds: float = 0.05
    # Sends not yet recorded per worker process: what a killed worker sends again.
    worker_max_in_flight: int = 400
    send_timeout_seconds: float = 10.0
    retry_base_seconds: float = 1.0
    retry_cap_seconds: float = 600.0
    retry_max_attempts: int = 8
    default_ttl_seconds: int = 28 * 24 * 3600
    # audience (docs/audience.md)
    interest_half_life_days: float = 14.0
    # Event weights over the defaults, e.g. "item_viewed=1,purchased=8,custom:wishlist=2".
    interest_weights: str = ""
    propensity_half_life_days: float = 30.0
    # Events older than this when they arrive teach nothing and are not stored (`late` in the answer).
    event_late_window_days: float = 7.0
    # Raw events are kept this long, then pruned by the leader; profiles keep what they learned.
    event_retention_days: float = 180.0
    # uplift models (docs/uplift.md)
    # How far back before a decision the event log is read for a model's profile features.
    uplift_feature_lookback_days: float = 90.0
    # A training job's lease: a process killed mid-training leaves the model to another after this.
    uplift_lease_seconds: float = 300.0
    # How often the leader looks for models waiting to be trained.
    uplift_poll_seconds: float = 10.0
    auto_migrate: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(environ: Mapping[str, str] | None = None, config_file: str | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        values.update(_read_toml(Path(path)))
    hints = get_type_hints(Settings)
    for item in fields(Settings):
        raw = env.get(ENV_PREFIX + item.name.upper())
        if raw is not None and item.name != "extra":
            values[item.name] = _coerce(item.name, raw, hints[item.name])
    known = {f.name for f in fields(Settings)}
    extra = {k: v for k, v in values.items() if k not in known}
    values = {k: v for k, v in values.items() if k in known}
    return Settings(**values, extra=extra) if extra else Settings(**values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read settings file {path}: {error}") from error
    section = data.get("pushwise", data)
    return dict(section)


def _coerce(name: str, raw: str, hint: Any) -> Any:
    text = str(hint)
    try:
        if hint is bool or text == "bool":
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
    except ValueError as error:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {text}") from error
    return raw

"""Structured logs: one JSON object per line, from structlog and from the standard `logging` calls.

Configured once per process by the serving entry points. Code that knows which
app, notification or delivery it works on binds them with
`structlog.contextvars.bound_contextvars(app_id=..., notification_id=..., delivery_id=...)`;
every line logged inside carries them, whichever logger wrote it.

The delivery worker handles thousands of deliveries a second, each in its own task, and
binding three context variables per delivery cost more than its provider's own Python.
So it sets one reference instead (`logged_delivery.set(item)`), and the three ids are read
from it only when a line is actually written (`merge_delivery`): the same fields on every
line about the delivery, for one `ContextVar.set` each.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any, Protocol

import structlog

# Libraries that log whole queries with their parameters, or request URLs and headers, at info or
# debug: e-mail addresses, phone numbers, device tokens, Web Push endpoints (capability URLs) and
# provider bearer tokens would reach the logs. They say only warnings and errors, whatever the level.
RAW_DATA_LOGGERS = (
    "aiosqlite",
    "asyncpg",
    "sqlalchemy.engine",
    "httpx",
    "httpcore",
    "h2",
    "hpack",
    "urllib3",
)


class DeliveryIds(Protocol):
    """What a log line says about the delivery it concerns (a claimed delivery has these)."""

    @property
    def id(self) -> int: ...

    @property
    def app_id(self) -> str: ...

    @property
    def notification_id(self) -> str: ...


logged_delivery: ContextVar[DeliveryIds | None] = ContextVar("pushwise_logged_delivery", default=None)


def merge_delivery(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Add the ids of the delivery this task works on (`logged_delivery`), if any."""
    delivery = logged_delivery.get()
    if delivery is not None:
        event.setdefault("app_id", delivery.app_id)
        event.setdefault("notification_id", delivery.notification_id)
        event.setdefault("delivery_id", delivery.id)
    return event


_SHARED: list[structlog.types.Processor] = [
    structlog.contextvars.merge_contextvars,
    merge_delivery,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str) -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in RAW_DATA_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

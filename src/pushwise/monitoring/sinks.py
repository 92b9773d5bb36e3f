"""Where alerts go: webhooks (Slack-compatible JSON) and e-mail. The dashboard reads the history.

Webhook URLs are chosen by app owners, so they follow the outbound-endpoint rule:
public `https` only unless private endpoints are allowed. The URL and its host's
addresses are checked when saved; at send time the URL is checked again and the
transport checks the address it actually connects to, so a name that later
resolves to a private address (DNS rebinding) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from pushwise.domain.endpoints import EndpointRefused, parse_endpoint
from pushwise.net.endpoint_guard import Resolver, check_public_endpoint, resolve_addresses
from pushwise.net.public_transport import outbound_transport

log = logging.getLogger(__name__)
SINK_TYPES = ("webhook", "email")


@dataclass(frozen=True, slots=True)
class AlertMessage:
    alert: str
    state: str  # firing | resolved
    app_id: str
    subject: str
    summary: str
    value: float | None
    threshold: float | None
    started_at: float
    at: float
    repeat: bool = False

    @property
    def text(self) -> str:
        mark = {"firing": ":rotating_light:", "resolved": ":white_check_mark:"}[self.state]
        again = " (still firing)" if self.repeat else ""
        return (
            f"{mark} *[{self.state.upper()}]* pushwise `{self.alert}` for app `{self.app_id}`{again}: "
            f"{self.summary} (since {_utc(self.started_at)})"
        )

    @property
    def mail_subject(self) -> str:
        """One line: a summary quoting a provider's error may span several, and headers must not."""
        again = " (still firing)" if self.repeat else ""
        line = f"[pushwise {self.state}] {self.alert} for app {self.app_id}{again}: {self.summary}"
        return " ".join(line.split())[:200]

    @property
    def mail_text(self) -> str:
        """Plain text for people: `text` carries Slack markup that reads as noise in a mail client."""
        lines = [
            f"Alert {self.alert} is {self.state.upper()} for app {self.app_id} ({self.subject}).",
            "",
            self.summary,
            "",
            f"Value: {self.value if self.value is not None else 'n/a'}",
            f"Threshold: {self.threshold if self.threshold is not None else 'n/a'}",
            f"Since: {_utc(self.started_at)}",
            f"{'Resolved' if self.state == 'resolved' else 'Reported'}: {_utc(self.at)}",
        ]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "state": self.state,
            "app_id": self.app_id,
            "subject": self.subject,
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "started_at": self.started_at,
            "at": self.at,
            "repeat": self.repeat,
            "text": self.text,
        }


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    timeout: float = 10.0


class SinkError(ValueError):
    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


async def validate_sinks(
    raw: Sequence[Mapping[str, Any]], *, allow_private: bool, resolve: Resolver = resolve_addresses
) -> list[dict[str, Any]]:
    sinks = []
    for index, sink in enumerate(raw):
        kind = sink.get("type")
        if kind == "webhook":
            try:
                await check_public_endpoint(
                    str(sink.get("url", "")), allow_private=allow_private, resolve=resolve
                )
            except EndpointRefused as error:
                raise SinkError(error.code, error.message, f"{index}.url") from error
            sinks.append({"type": "webhook", "url": str(sink["url"])})
        elif kind == "email":
            to = str(sink.get("to", ""))
            if "@" not in to or any(c in to for c in "\r\n ,;"):
                raise SinkError("invalid_email", "to must be one e-mail address", f"{index}.to")
            sinks.append({"type": "email", "to": to})
        else:
            raise SinkError("invalid_sink", f"type must be one of {', '.join(SINK_TYPES)}", f"{index}.type")
    return sinks


class AlertSinks:
    """Alerts are rare: each round of messages opens its own short-lived HTTP client."""

    def __init__(
        self,
        *,
        allow_private: bool,
        smtp: SmtpConfig | None,
        timeout: float = 10.0,
        resolve: Resolver = resolve_addresses,
    ) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._smtp = smtp
        self._resolve = resolve

    async def deliver(self, sinks: Sequence[Mapping[str, Any]], messages: Sequence[AlertMessage]) -> int:
        """Send every message to every sink; a failing sink is logged and skipped. Returns successes."""
        if not sinks or not messages:
            return 0
        sent = 0
        transport = outbound_transport(allow_private=self._allow_private, resolve=self._resolve)
        client = httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False)
        async with client as http:
            for message in messages:
                for sink in sinks:
                    try:
                        if sink["type"] == "webhook":
                            await self._webhook(http, str(sink["url"]), message)
                        elif sink["type"] == "email":
                            await self._email(str(sink["to"]), message)
                        sent += 1
                    except (httpx.HTTPError, EndpointRefused, aiosmtplib.SMTPException, OSError) as error:
                        log.warning(
                            "alert %s for %s not delivered to %s: %s",
                            message.alert,
                            message.app_id,
                            sink.get("type"),
                            error,
                        )
        return sent

    async def _webhook(self, http: httpx.AsyncClient, url: str, message: AlertMessage) -> None:
        parse_endpoint(url, allow_private=self._allow_private)
        response = await http.post(url, json=message.to_json())
        response.raise_for_status()

    async def _email(self, to: str, message: AlertMessage) -> None:
        if self._smtp is None:
            raise aiosmtplib.SMTPException("no SMTP server is configured (smtp_host)")
        mail = EmailMessage()
        mail["From"] = self._smtp.sender
        mail["To"] = to
        mail["Subject"] = message.mail_subject
        mail.set_content(message.mail_text)
        await aiosmtplib.send(
            mail, hostname=self._smtp.host, port=self._smtp.port, timeout=self._smtp.timeout
        )

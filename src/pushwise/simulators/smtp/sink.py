"""What the SMTP sink does with each conversation: inject faults, check AUTH, keep messages."""

from __future__ import annotations

import random
from collections import Counter, deque
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from pushwise.simulators.smtp.faults import DATA_CODES, REPLY_TEXT, SmtpFaults, parse_faults

_HISTORY = 10_000


def parsed_message(envelope: Envelope) -> dict[str, Any]:
    raw = envelope.original_content or b""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "subject": str(message.get("subject", "")),
        "text": _content(text),
        "html": _content(html),
        "headers": {name: str(value) for name, value in message.items()},
    }


def _content(part: MIMEPart | None) -> str | None:
    """A part's text; one in a charset Python cannot decode is read as UTF-8 with replacements,
    as a real server keeps such a message instead of failing on it."""
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # unknown charset, or one with a NUL in its name
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)


class SmtpSink:
    def __init__(self, faults: dict[str, Any] | None, seed: int, credentials: tuple[str, str] | None) -> None:
        self._faults = parse_faults(faults)
        self._seed = seed
        self._rng = random.Random(seed)
        self._credentials = credentials
        self._messages: deque[dict[str, Any]] = deque(maxlen=_HISTORY)
        self._data_faults: dict[int, int] = {}
        self.replies: Counter[int] = Counter()

    @property
    def faults(self) -> SmtpFaults:
        return self._faults

    def set_faults(self, raw: dict[str, Any] | None) -> None:
        self._faults = parse_faults(raw)

    def reset(self) -> None:
        self._faults = SmtpFaults()
        self._rng = random.Random(self._seed)
        self._messages.clear()
        self._data_faults.clear()
        self.replies.clear()

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        wanted = to.lower() if to else None
        return [m for m in self._messages if wanted is None or wanted in (r.lower() for r in m["rcpt_tos"])]

    def authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self._credentials is None:
            return AuthResult(success=False, handled=False)
        user, password = self._credentials
        valid = auth_data.login == user.encode() and auth_data.password == password.encode()
        if self._faults.auth_fails(self._rng):
            valid = False
        return AuthResult(success=valid, handled=False)

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: list[str]
    ) -> str:
        code = (
            550 if address.lower() in self._faults.dead_mailboxes else self._faults.injected_code(self._rng)
        )
        if code in DATA_CODES:
            self._data_faults[id(envelope)] = code
        elif code is not None:
            return self._reply(code)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        code = self._data_faults.pop(id(envelope), None)
        if code is not None:
            return self._reply(code)
        self._messages.append(parsed_message(envelope))
        self.replies[250] += 1
        return f"250 OK queued as {len(self._messages)}"

    def _reply(self, code: int) -> str:
        self.replies[code] += 1
        return f"{code} {REPLY_TEXT[code]}"

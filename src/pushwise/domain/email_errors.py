"""SMTP replies and failures mapped to the shared error model (DESIGN.md section 4).

| reply / failure                                   | outcome        |
|---------------------------------------------------|----------------|
| 2xx after DATA                                    | delivered      |
| 550 / 551 / 553 to RCPT (mailbox unavailable)     | token dead: the address is dead, fall back |
| other 5xx (552, 554, 5xx to DATA)                 | permanent      |
| 4xx (421 closing, 450 mailbox busy, 451, 452)     | retry later    |
| authentication refused (535, 534, 530)            | configuration  |
| server lacks STARTTLS / AUTH, TLS handshake fails | configuration  |
| connection refused, lost, timed out               | retry later    |
"""

from __future__ import annotations

from enum import StrEnum

from pushwise.domain.outcomes import Outcome, OutcomeKind, transport_failure

DEAD_MAILBOX_CODES = frozenset({550, 551, 553})


class SmtpStage(StrEnum):
    """Where in the conversation the reply came: 550 means "no such mailbox" only to RCPT."""

    CONNECT = "connect"
    AUTH = "auth"
    SENDER = "mail"
    RECIPIENT = "rcpt"
    DATA = "data"


def classify_smtp_reply(code: int, message: str, stage: SmtpStage) -> Outcome:
    reason = f"Smtp{code}"
    if stage is SmtpStage.AUTH and code >= 500:
        return Outcome(OutcomeKind.CONFIGURATION, "SmtpAuthFailed", code)
    if 400 <= code < 500:
        return Outcome(OutcomeKind.RETRY, reason, code)
    if stage is SmtpStage.RECIPIENT and code in DEAD_MAILBOX_CODES:
        return Outcome(OutcomeKind.TOKEN_DEAD, "MailboxUnavailable", code)
    if code >= 500:
        return Outcome(OutcomeKind.PERMANENT, reason, code)
    return Outcome(OutcomeKind.PERMANENT, f"SmtpUnexpected{code}", code)


def smtp_unsupported(reason: str) -> Outcome:
    """The server cannot do what the configuration demands (STARTTLS, AUTH): fix the settings."""
    return Outcome(OutcomeKind.CONFIGURATION, reason)


def smtp_connection_failure(reason: str = "ConnectionFailed") -> Outcome:
    return transport_failure(reason)

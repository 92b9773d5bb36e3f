"""The e-mail channel: one message per delivery over SMTP, with one-click unsubscribe.

The address is the user's `email`; a user who unsubscribed (RFC 8058 link or
header) or has no address is a permanent failure for this channel, so fallback
moves on without sending. Every SMTP failure maps to one outcome
(`pushwise.domain.email_errors`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import aiosmtplib

from pushwise.domain.click_links import ClickLinks
from pushwise.domain.clock import Clock
from pushwise.domain.email_errors import (
    SmtpStage,
    classify_smtp_reply,
    smtp_connection_failure,
    smtp_unsupported,
)
from pushwise.domain.email_message import EmailEnvelope, render_email
from pushwise.domain.endpoints import EndpointRefused
from pushwise.domain.outcomes import Outcome, delivered, local_rejection
from pushwise.domain.signed_tokens import issue_unsubscribe_token
from pushwise.domain.webhook_errors import private_endpoint_refused
from pushwise.net.endpoint_guard import Resolver, resolve_addresses
from pushwise.providers.base import Dispatch
from pushwise.providers.smtp_pool import SmtpServer, SmtpSessions
from pushwise.store.recipients import RecipientRepository


@dataclass(frozen=True, slots=True)
class EmailSettings:
    sender: str
    secret_key: bytes  # signs unsubscribe links
    public_base_url: str  # where this pushwise answers `/v1/unsubscribe/{token}`
    links: ClickLinks | None = None  # the content's link through the click redirect


def unsubscribe_url(settings: EmailSettings, app_id: str, user_id: str) -> str:
    token = issue_unsubscribe_token(settings.secret_key, app_id, user_id)
    return f"{settings.public_base_url.rstrip('/')}/v1/unsubscribe/{token}"


class EmailProvider:
    channel = "email"

    def __init__(
        self, settings: EmailSettings, sessions: SmtpSessions, recipients: RecipientRepository, clock: Clock
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._recipients = recipients
        self._clock = clock
        self._envelope_sender = parseaddr(settings.sender)[1]

    def _link(self, dispatch: Dispatch) -> str | None:
        links = self._settings.links
        url = dispatch.spec.content.url
        return links.wrap(dispatch.app_id, dispatch.delivery_id, url) if links is not None else None

    async def send(self, dispatch: Dispatch) -> Outcome:
        if dispatch.user_id is None:
            return local_rejection("NoUser")
        recipient = await self._recipients.find(dispatch.app_id, dispatch.user_id)
        if recipient is None:
            return local_rejection("NoUser")
        if not recipient.email:
            return local_rejection("NoEmailAddress")
        if recipient.email_unsubscribed:
            return local_rejection("Unsubscribed")
        envelope = EmailEnvelope(
            sender=self._settings.sender,
            recipient=recipient.email,
            unsubscribe_url=unsubscribe_url(self._settings, dispatch.app_id, dispatch.user_id),
            sent_at=self._clock.now(),
            delivery_ref=f"{dispatch.notification_id}.{dispatch.delivery_id}",
            link=self._link(dispatch),
        )
        message = render_email(dispatch.spec.content, envelope, dispatch.spec.email)
        try:
            async with self._sessions.session() as smtp:
                await smtp.send_message(message, sender=self._envelope_sender, recipients=[recipient.email])
        except Exception as error:
            return outcome_of_smtp_error(error)
        return delivered(250)

    async def close(self) -> None:
        await self._sessions.close()


def outcome_of_smtp_error(error: Exception) -> Outcome:
    """The SMTP client's exceptions, by the stage of the conversation they come from."""
    match error:
        case EndpointRefused():
            return private_endpoint_refused()
        case aiosmtplib.SMTPAuthenticationError():
            return classify_smtp_reply(error.code, error.message, SmtpStage.AUTH)
        case aiosmtplib.SMTPRecipientsRefused() if error.recipients:
            refused = error.recipients[0]
            return classify_smtp_reply(refused.code, refused.message, SmtpStage.RECIPIENT)
        case aiosmtplib.SMTPRecipientRefused():
            return classify_smtp_reply(error.code, error.message, SmtpStage.RECIPIENT)
        case aiosmtplib.SMTPSenderRefused():
            return classify_smtp_reply(error.code, error.message, SmtpStage.SENDER)
        case aiosmtplib.SMTPDataError():
            return classify_smtp_reply(error.code, error.message, SmtpStage.DATA)
        case aiosmtplib.SMTPNotSupported():
            return smtp_unsupported("SmtpNotSupported")
        case aiosmtplib.SMTPTimeoutError():
            return smtp_connection_failure("Timeout")
        case aiosmtplib.SMTPServerDisconnected() | aiosmtplib.SMTPConnectError():
            return smtp_connection_failure()
        case aiosmtplib.SMTPResponseException():
            return classify_smtp_reply(error.code, error.message, SmtpStage.CONNECT)
        case ssl.SSLError():
            return smtp_unsupported("TlsFailed")
        case aiosmtplib.SMTPException() if type(error) is aiosmtplib.SMTPException:
            # aiosmtplib raises the bare class only when the server lacks what we
            # must use (STARTTLS, AUTH): retrying cannot help.
            return smtp_unsupported("SmtpNotSupported")
        case OSError() | aiosmtplib.SMTPException():
            return smtp_connection_failure()
    raise error


def build_email_provider(
    public: dict[str, Any],
    secret: dict[str, Any],
    clock: Clock,
    *,
    recipients: RecipientRepository,
    secret_key: bytes,
    public_base_url: str,
    timeout: float,
    allow_private: bool,
    links: ClickLinks | None = None,
    connections: int = 4,
    resolve: Resolver = resolve_addresses,
) -> EmailProvider:
    """From stored credentials: public host/port/username/sender/starttls/ca_file, secret password."""
    server = SmtpServer(
        host=public["host"],
        port=int(public["port"]),
        username=public.get("username"),
        password=secret.get("password"),
        starttls=bool(public.get("starttls", True)),
        ca_file=public.get("ca_file"),
    )
    settings = EmailSettings(public["sender"], secret_key, public_base_url, links)
    sessions = SmtpSessions(
        server, size=connections, timeout=timeout, allow_private=allow_private, resolve=resolve
    )
    return EmailProvider(settings, sessions, recipients, clock)

"""The e-mail channel against the SMTP simulator: STARTTLS + AUTH, rendering, unsubscribe, every code."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from pushwise.bootstrap import Services
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.net.endpoint_guard import Resolver, resolve_addresses
from pushwise.providers.base import Dispatch
from pushwise.providers.email import EmailProvider, build_email_provider
from pushwise.simulators.smtp import SmtpSimulatorHandle, start_smtp_simulator
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.recipients import RecipientRepository
from pushwise.store.sealing import Sealer
from pushwise.store.users import UserRepository

pytestmark = pytest.mark.integration

USER, PASSWORD = "mailer", "correct horse battery"
ADDRESS = "ada@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSimulatorHandle]:
    with start_smtp_simulator(starttls=True, auth=(USER, PASSWORD), seed=7) as simulator:
        yield simulator


@pytest.fixture
def sink(smtp: SmtpSimulatorHandle) -> SmtpSimulatorHandle:
    smtp.reset()
    return smtp


class Mailer:
    def __init__(self, services: Services, app_id: str, user_ids: dict[str, str]) -> None:
        self.services, self.app_id, self.user_ids = services, app_id, user_ids
        self._delivery = 0

    def provider(
        self,
        sim: SmtpSimulatorHandle,
        *,
        allow_private: bool = True,
        resolve: Resolver = resolve_addresses,
        **changes: object,
    ) -> EmailProvider:
        public = {
            "host": sim.host,
            "port": sim.port,
            "username": USER,
            "sender": "Shop <news@shop.example>",
            "starttls": True,
            "ca_file": sim.ca_file,
        }
        secret = {"password": changes.pop("password", PASSWORD)}
        public.update(changes)
        return build_email_provider(
            public,
            secret,
            self.services.clock,
            recipients=RecipientRepository(self.services.db, self.services.clock),
            secret_key=self.services.secret_key,
            public_base_url="https://push.example/",
            timeout=5.0,
            allow_private=allow_private,
            resolve=resolve,
        )

    def dispatch(self, user: str = "ada", content: Content | None = None) -> Dispatch:
        self._delivery += 1
        content = content or Content(
            title="Your order <shipped>", body="Track it & smile", url="https://shop.example/o/1"
        )
        return Dispatch(
            self._delivery,
            self.app_id,
            "ntf_mail",
            "email",
            "",
            NotificationSpec(content),
            None,
            1,
            user_id=self.user_ids[user],
        )


@pytest.fixture
async def mailer(services: Services) -> Mailer:
    app = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app
    users = UserRepository(services.db, services.clock)
    ada, _ = await users.upsert(app.id, "ada", {"email": ADDRESS})
    nomail, _ = await users.upsert(app.id, "nomail", {})
    return Mailer(services, app.id, {"ada": ada.id, "nomail": nomail.id})


async def test_sends_text_and_html_with_one_click_unsubscribe_over_starttls_and_auth(
    mailer, sink, client
) -> None:
    provider = mailer.provider(sink)
    try:
        outcome = await provider.send(mailer.dispatch())
        assert (outcome.kind, outcome.provider_status) == (OutcomeKind.DELIVERED, 250)
        [message] = sink.messages(to=ADDRESS)
        assert message["subject"] == "Your order <shipped>"
        assert message["mail_from"] == "news@shop.example"
        assert "Track it & smile" in message["text"]
        assert "&lt;shipped&gt;" in message["html"]
        assert "<shipped>" not in message["html"]
        assert "Track it &amp; smile" in message["html"]
        headers = message["headers"]
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https_link, mailto = [part.strip(" <>") for part in headers["List-Unsubscribe"].split(",")]
        assert https_link.startswith("https://push.example/v1/unsubscribe/")
        assert mailto == "mailto:news@shop.example?subject=unsubscribe"
        assert https_link in message["text"]

        path = urlsplit(https_link).path
        assert (await client.get(path)).status_code == 200  # a page; GET alone changes nothing
        assert (await provider.send(mailer.dispatch())).kind is OutcomeKind.DELIVERED
        assert (await client.post(path, data={"List-Unsubscribe": "One-Click"})).status_code == 200
        refused = await provider.send(mailer.dispatch())
        assert (refused.kind, refused.reason) == (OutcomeKind.PERMANENT, "Unsubscribed")
        assert len(sink.messages(to=ADDRESS)) == 2
        assert (await client.post(path[:-3] + "xyz")).status_code == 404
    finally:
        await provider.close()


async def test_reuses_one_session_for_many_messages(mailer, sink) -> None:
    provider = mailer.provider(sink)
    try:
        for _ in range(3):
            assert (await provider.send(mailer.dispatch())).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    assert len(sink.messages(to=ADDRESS)) == 3


@pytest.mark.parametrize(
    ("code", "kind", "reason"),
    [
        (421, OutcomeKind.RETRY, "Smtp421"),
        (450, OutcomeKind.RETRY, "Smtp450"),
        (451, OutcomeKind.RETRY, "Smtp451"),
        (452, OutcomeKind.RETRY, "Smtp452"),
        (550, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (551, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (553, OutcomeKind.TOKEN_DEAD, "MailboxUnavailable"),
        (552, OutcomeKind.PERMANENT, "Smtp552"),
        (554, OutcomeKind.PERMANENT, "Smtp554"),
    ],
)
async def test_every_injected_reply_code_maps_to_its_outcome(mailer, sink, code, kind, reason) -> None:
    sink.set_faults({"codes": {str(code): 1.0}})
    provider = mailer.provider(sink)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason, outcome.provider_status) == (kind, reason, code)
    assert sink.messages() == []
    assert sink.stats()["replies"] == {str(code): 1}


async def test_a_dead_mailbox_is_token_dead(mailer, sink) -> None:
    sink.set_faults({"dead_mailboxes": [ADDRESS]})
    provider = mailer.provider(sink)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.TOKEN_DEAD, 550)


@pytest.mark.parametrize("cause", ["wrong_password", "injected"])
async def test_refused_authentication_is_a_configuration_error(mailer, sink, cause) -> None:
    if cause == "injected":
        sink.set_faults({"auth_failure": 1.0})
    provider = mailer.provider(sink, password="wrong" if cause == "wrong_password" else PASSWORD)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "SmtpAuthFailed")


async def test_unreachable_server_is_retried(mailer, sink) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    provider = mailer.provider(sink, port=closed_port)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.RETRY


async def test_server_without_starttls_is_a_configuration_error(mailer) -> None:
    with start_smtp_simulator() as plain:
        provider = mailer.provider(plain, username=None)
        try:
            outcome = await provider.send(mailer.dispatch())
        finally:
            await provider.close()
        insecure = mailer.provider(plain, username=None, starttls=False)
        try:
            assert (await insecure.send(mailer.dispatch())).kind is OutcomeKind.DELIVERED
        finally:
            await insecure.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "SmtpNotSupported")


async def test_a_private_server_address_is_refused_when_a_session_opens(
    mailer: Mailer, sink: SmtpSimulatorHandle
) -> None:
    """The name was public when saved; it now resolves to the simulator's loopback (DNS rebinding)."""
    asked: list[tuple[str, int]] = []

    async def rebound(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    provider = mailer.provider(sink, host="mail.example.com", allow_private=False, resolve=rebound)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "PrivateEndpointRefused")
    assert asked == [("mail.example.com", sink.port)]
    assert sink.messages(to=ADDRESS) == []


async def test_an_unresolvable_server_is_retried(mailer: Mailer, sink: SmtpSimulatorHandle) -> None:
    async def unresolvable(host: str, port: int) -> list[str]:
        raise OSError(f"no such host {host}")

    provider = mailer.provider(sink, host="mail.example.com", allow_private=False, resolve=unresolvable)
    try:
        outcome = await provider.send(mailer.dispatch())
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.RETRY


async def test_with_private_endpoints_allowed_the_name_is_used_and_its_certificate_verified(
    mailer: Mailer, sink: SmtpSimulatorHandle
) -> None:
    provider = mailer.provider(sink, host="localhost")  # the simulator's certificate names localhost
    try:
        assert (await provider.send(mailer.dispatch())).kind is OutcomeKind.DELIVERED
    finally:
        await provider.close()
    assert len(sink.messages(to=ADDRESS)) == 1


async def test_user_without_address_is_permanent_without_sending(mailer, sink) -> None:
    provider = mailer.provider(sink)
    try:
        outcome = await provider.send(mailer.dispatch("nomail"))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.PERMANENT, "NoEmailAddress")
    assert sink.messages() == []


async def test_email_provider_api_seals_the_password(client, make_app, services) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/email"
    body = {
        "host": "127.0.0.1",
        "port": 2525,
        "username": "u",
        "password": "p4ss",
        "sender": "Shop <a@shop.example>",
    }
    put = await client.put(url, json=body, headers=shop.server_headers)
    assert put.status_code == 200, put.text
    shown = (await client.get(url, headers=shop.server_headers)).json()
    assert "password" not in shown
    assert (shown["host"], shown["starttls"], shown["has_password"]) == ("127.0.0.1", True, True)
    repository = CredentialRepository(services.db, services.clock, Sealer(services.secret_key))
    credentials = await repository.get(shop.id, "email")
    assert credentials is not None
    assert credentials.secret == {"password": "p4ss"}
    assert "p4ss" not in str(credentials.public)
    bad = await client.put(url, json={**body, "sender": "not an address"}, headers=shop.server_headers)
    assert bad.status_code == 422
    assert (await client.put(url, json=body, headers=shop.client_headers)).status_code == 403
    assert (await client.delete(url, headers=shop.server_headers)).status_code == 200
    assert (await client.get(url, headers=shop.server_headers)).status_code == 404

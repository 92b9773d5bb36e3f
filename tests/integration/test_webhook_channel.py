"""The webhook channel against a local receiver that verifies the signature like a customer would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pushwise.bootstrap import Services
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.signatures import SIGNATURE_HEADER, SignatureInvalid, verify
from pushwise.providers.base import Dispatch
from pushwise.providers.webhook import WebhookProvider, build_webhook_provider
from pushwise.store.apps import AppRepository
from pushwise.store.recipients import RecipientRepository
from pushwise.store.users import UserRepository
from tests.integration.conftest import serve_app

pytestmark = pytest.mark.integration

SECRET = "whsec-0123456789abcdef"


@dataclass
class Receiver:
    """Answers with the scripted statuses in turn (then 200) and keeps what it verified."""

    url: str = ""
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    verified: list[dict] = field(default_factory=list)
    rejected: int = 0

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        try:
            verify(SECRET, body, request.headers.get(SIGNATURE_HEADER), now=time.time())
        except SignatureInvalid:
            self.rejected += 1
            return Response(status_code=401)
        self.verified.append(orjson.loads(body))
        await asyncio.sleep(self.delay)
        status, headers = self.script.pop(0) if self.script else (200, {})
        return Response(status_code=status, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with serve_app(app) as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver


@pytest.fixture
async def target(services: Services) -> tuple[str, str]:
    app = (await AppRepository(services.db, services.clock).create_with_keys("shop")).app
    user, _ = await UserRepository(services.db, services.clock).upsert(app.id, "ada", {})
    return app.id, user.id


def provider_for(
    services: Services, url: str, *, allow_private: bool = True, timeout: float = 5.0
) -> WebhookProvider:
    # The receiver checks signatures against real time, so the provider signs with it too.
    services.clock.set(time.time())
    return build_webhook_provider(
        {"url": url},
        {"secret": SECRET},
        services.clock,
        recipients=RecipientRepository(services.db, services.clock),
        allow_private=allow_private,
        timeout=timeout,
    )


def dispatch(target: tuple[str, str], delivery_id: int = 1) -> Dispatch:
    app_id, user_id = target
    spec = NotificationSpec(Content(title="Hi", body="There", data={"order": 7}), category="orders")
    return Dispatch(delivery_id, app_id, "ntf_hook", "webhook", "", spec, None, 1, user_id=user_id)


async def test_delivers_a_signed_notification(services, receiver, target) -> None:
    provider = provider_for(services, receiver.url)
    try:
        outcome = await provider.send(dispatch(target))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.provider_status) == (OutcomeKind.DELIVERED, 200)
    assert receiver.rejected == 0
    [body] = receiver.verified
    assert body["content"] == {"title": "Hi", "body": "There", "data": {"order": 7}}
    assert (body["notification_id"], body["delivery_id"], body["user_id"]) == ("ntf_hook", "1", "ada")
    assert body["category"] == "orders"


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after"),
    [
        (503, {"retry-after": "7"}, OutcomeKind.RETRY, 7.0),
        (500, {}, OutcomeKind.RETRY, None),
        (429, {"retry-after": "30"}, OutcomeKind.RETRY, 30.0),
        (410, {}, OutcomeKind.TOKEN_DEAD, None),
        (400, {}, OutcomeKind.PERMANENT, None),
        (404, {}, OutcomeKind.PERMANENT, None),
        (302, {"location": "http://169.254.169.254/"}, OutcomeKind.PERMANENT, None),
    ],
)
async def test_answers_map_to_outcomes(
    services, receiver, target, status, headers, kind, retry_after
) -> None:
    receiver.script = [(status, headers)]
    provider = provider_for(services, receiver.url)
    try:
        outcome = await provider.send(dispatch(target))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.provider_status, outcome.retry_after) == (kind, status, retry_after)
    assert len(receiver.verified) == 1  # redirects are not followed


async def test_a_retry_after_5xx_then_succeeds(services, receiver, target) -> None:
    receiver.script = [(503, {}), (429, {})]
    provider = provider_for(services, receiver.url)
    try:
        kinds = [(await provider.send(dispatch(target))).kind for _ in range(3)]
    finally:
        await provider.close()
    assert kinds == [OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.DELIVERED]
    assert [body["delivery_id"] for body in receiver.verified] == ["1", "1", "1"]


async def test_a_slow_receiver_times_out_and_is_retried(services, receiver, target) -> None:
    receiver.delay = 2.0
    provider = provider_for(services, receiver.url, timeout=0.3)
    try:
        outcome = await provider.send(dispatch(target))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.RETRY, "Timeout")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_private_addresses_are_refused_at_connection_time(services, receiver, target, host) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    provider = provider_for(services, f"https://{host}:{port}/hook", allow_private=False)
    try:
        outcome = await provider.send(dispatch(target))
    finally:
        await provider.close()
    assert (outcome.kind, outcome.reason) == (OutcomeKind.CONFIGURATION, "PrivateEndpointRefused")
    assert receiver.verified == []


async def test_webhook_provider_api_keeps_the_secret(client, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/webhook"
    put = await client.put(
        url, json={"url": "https://hooks.example/p", "secret": SECRET}, headers=shop.server_headers
    )
    assert put.status_code == 200, put.text
    shown = (await client.get(url, headers=shop.server_headers)).json()
    assert shown["url"] == "https://hooks.example/p"
    assert "secret" not in shown
    short = await client.put(
        url, json={"url": "https://hooks.example/p", "secret": "x"}, headers=shop.server_headers
    )
    assert short.status_code == 422
    bad = await client.put(
        url, json={"url": "ftp://hooks.example/", "secret": SECRET}, headers=shop.server_headers
    )
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "url")
    assert (await client.delete(url, headers=shop.server_headers)).status_code == 200
    assert (await client.get(url, headers=shop.server_headers)).status_code == 404

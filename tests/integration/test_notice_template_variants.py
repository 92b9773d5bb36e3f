"""An app's failure-notice template may carry its own words for users who turned notifications off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from pushwise.bootstrap import Services
from tests.integration.conftest import TenantApp

pytestmark = pytest.mark.integration

MakeApp = Callable[..., Awaitable[TenantApp]]
MUTED = {"title": "{{ app_name }} is muted", "body": "Unmute it in Settings, {{ user_id }}."}
LOST = {"title": "We lost you", "body": "Open {{ app_name }} again."}


def url(app: TenantApp) -> str:
    return f"/v1/apps/{app.id}/failure-notice"


async def test_a_variant_is_stored_shown_and_left_out_where_not_given(
    client: httpx.AsyncClient, make_app: MakeApp
) -> None:
    shop = await make_app("shop")
    templates = {"en": {**LOST, "permission_denied": MUTED}, "de": {"title": "Hallo", "body": "Hallo."}}
    put = await client.put(url(shop), json={"templates": templates}, headers=shop.server_headers)
    assert put.status_code == 200, put.text
    assert put.json()["templates"] == templates
    got = await client.get(url(shop), headers=shop.server_headers)
    assert got.json()["templates"] == templates


@pytest.mark.parametrize(
    ("locale", "variant", "code", "field"),
    [
        (
            "en",
            {"title": "ok", "body": "{{ nope }}"},
            "invalid_template",
            "templates.en.permission_denied.body",
        ),
        ("en", {"title": "ok"}, "validation_error", "templates.en.permission_denied.body"),
        ("en", {"title": "ok", "body": "ok", "extra": 1}, "validation_error", None),
        ("de-CH-1996-abcdefgh-abcdefgh-12345", MUTED, "locale_too_long", None),
    ],
)
async def test_bad_variants_are_refused(
    client: httpx.AsyncClient,
    make_app: MakeApp,
    locale: str,
    variant: dict[str, object],
    code: str,
    field: str | None,
) -> None:
    shop = await make_app("shop")
    body = {"templates": {locale: {**LOST, "permission_denied": variant}}}
    answer = await client.put(url(shop), json=body, headers=shop.server_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    if field is not None:
        assert answer.json()["error"]["field"] == field
    assert (await client.get(url(shop), headers=shop.server_headers)).status_code == 404


async def test_the_notice_for_a_permission_turned_off_uses_the_variant(
    client: httpx.AsyncClient, make_app: MakeApp, services: Services
) -> None:
    shop = await make_app("shop")
    templates = {"en": {**LOST, "permission_denied": MUTED}}
    assert (
        await client.put(url(shop), json={"templates": templates}, headers=shop.server_headers)
    ).is_success
    device = await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": "a1" * 32, "user_id": "ann", "push_permission": "denied"},
        headers=shop.server_headers,
    )
    assert device.status_code == 201, device.text
    worker = services.engine.worker()
    while await worker.run_once():
        pass
    inbox = await client.get("/v1/users/ann/inbox", headers=shop.server_headers)
    items = inbox.json()["items"]
    assert [(i["title"], i["body"], i["data"]["cause"]) for i in items] == [
        ("shop is muted", "Unmute it in Settings, ann.", "permission_denied")
    ]

"""Failure notice templates per app and locale: the API vets and stores them, the notice uses them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from pushwise.domain.failure_notice import NoticeTemplate, render_notice
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.store.notices import NoticeTemplates
from pushwise.store.users import UserRepository
from tests.integration.conftest import TenantApp
from tests.integration.engine_rig import Rig, failing, rig_fixture

pytestmark = pytest.mark.integration

GERMAN = {"title": "Hallo {{ user_id }}", "body": "{{ app_name }} erreicht Sie nicht mehr ({{ locale }})."}
BRAZILIAN = {"title": "Olá", "body": "Ative as notificações do {{ app_name }}."}


def url(app: TenantApp) -> str:
    return f"/v1/apps/{app.id}/failure-notice"


async def test_put_get_delete(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app("shop")
    missing = await client.get(url(shop), headers=shop.server_headers)
    assert missing.status_code == 404

    put = await client.put(
        url(shop), json={"templates": {"de": GERMAN, "pt_BR": BRAZILIAN}}, headers=shop.server_headers
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["templates"] == {"de": GERMAN, "pt-br": BRAZILIAN}
    assert body["builtin_locales"] == ["de", "en", "fr", "zh"]

    got = await client.get(url(shop), headers=shop.server_headers)
    assert got.status_code == 200
    assert got.json()["templates"] == body["templates"]

    # A PUT replaces the whole set.
    replaced = await client.put(
        url(shop), json={"templates": {"pt-BR": BRAZILIAN}}, headers=shop.server_headers
    )
    assert replaced.json()["templates"] == {"pt-br": BRAZILIAN}

    assert (await client.delete(url(shop), headers=shop.server_headers)).status_code == 204
    assert (await client.get(url(shop), headers=shop.server_headers)).status_code == 404
    assert (await client.delete(url(shop), headers=shop.server_headers)).status_code == 404


async def test_only_the_apps_own_server_key(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    payload = {"templates": {"de": GERMAN}}
    assert (await client.put(url(shop), json=payload, headers=shop.client_headers)).status_code == 403
    assert (await client.put(url(shop), json=payload, headers=other.server_headers)).status_code in (403, 404)
    assert (await client.put(url(shop), json=payload)).status_code == 401
    assert (await client.get(url(shop), headers=shop.server_headers)).status_code == 404


@pytest.mark.parametrize(
    ("template", "code", "field"),
    [
        ({"title": "Hallo {{ app_name ", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "t", "body": "{% if %}"}, "invalid_template", "templates.de.body"),
        ({"title": "{{ password }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "t", "body": "{{ ''.__class__.__mro__ }}"}, "invalid_template", "templates.de.body"),
        (
            {"title": "t", "body": "{% for i in range(9) %}x{% endfor %}"},
            "invalid_template",
            "templates.de.body",
        ),
        ({"title": "{{ 'x' * 1000 }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "{{ 'x'|center(99999999) }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "{{ app_name + 1 }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "{{ '{:>99}'.format(app_name) }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "{{ '%99s'|format(app_name) }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "{{ '{}'['format'](app_name) }}", "body": "b"}, "invalid_template", "templates.de.title"),
        ({"title": "", "body": "b"}, "validation_error", None),
        ({"title": "t", "body": "b", "html": "<p>"}, "validation_error", None),
    ],
)
async def test_bad_templates_are_refused_when_stored(
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    template: dict[str, str],
    code: str,
    field: str | None,
) -> None:
    shop = await make_app("shop")
    response = await client.put(url(shop), json={"templates": {"de": template}}, headers=shop.server_headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["field"] == field
    assert (await client.get(url(shop), headers=shop.server_headers)).status_code == 404


@pytest.mark.parametrize(
    "templates",
    [{"not a locale!": GERMAN}, {"de-AT": GERMAN, "de_at": GERMAN}, {}],
)
async def test_bad_locales_are_refused(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]], templates: dict[str, object]
) -> None:
    shop = await make_app("shop")
    response = await client.put(url(shop), json={"templates": templates}, headers=shop.server_headers)
    assert response.status_code == 422, response.text


def test_an_app_template_wins_and_the_built_in_text_covers_the_rest() -> None:
    own = {"de": NoticeTemplate(GERMAN["title"], GERMAN["body"])}
    german = render_notice("shop", "de-AT", own, user_id="ann")
    assert (german.title, german.body) == ("Hallo ann", "shop erreicht Sie nicht mehr (de-AT).")
    french = render_notice("shop", "fr", own, user_id="ann")
    assert french.title == "Vous manquez peut-être des messages de shop"
    assert render_notice("shop", None, own).title == "You may be missing messages from shop"
    # A stored template that still fails at send time (a branch the check did not take) gives way.
    broken = {"de": NoticeTemplate("{% if locale == 'de-CH' %}{{ nope }}{% endif %}Hallo", "b")}
    assert render_notice("shop", "de-CH", broken).title == "Ihnen entgehen vielleicht Nachrichten von shop"
    assert render_notice("shop", "de-DE", broken).title == "Hallo"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for made in rig_fixture(tmp_path):
        yield made


async def test_the_notice_uses_the_apps_template_for_the_users_locale(rig: Rig) -> None:
    own = {"de": NoticeTemplate(GERMAN["title"], GERMAN["body"])}
    await NoticeTemplates(rig.services.db).put(rig.app_id, own, rig.clock.now())
    users = UserRepository(rig.services.db, rig.clock)
    await rig.user("ann", {"a1" * 32: "ios"})
    await users.upsert(rig.app_id, "ann", {"locale": "de-AT"})
    await rig.user("zoe", {"b2" * 32: "ios"})
    await users.upsert(rig.app_id, "zoe", {"locale": "fr-FR"})
    rig.providers["apns"].answer = failing(OutcomeKind.TOKEN_DEAD, "Unregistered", 410)

    await rig.send(NotificationSpec(Content(title="Shop", body="New arrivals")), users=("ann", "zoe"))
    await rig.drain()
    told = {
        d.spec.content.title: d.spec.content.body
        for d in rig.providers["inbox"].sent
        if d.spec.content.data.get("pushwise") == "failure_notice"
    }
    assert told == {
        "Hallo ann": "shop erreicht Sie nicht mehr (de-AT).",
        "Vous manquez peut-être des messages de shop": render_notice("shop", "fr").body,
    }

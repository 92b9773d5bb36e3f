"""The hosted preference page over plain HTTP (no JavaScript): links, forms, guard, languages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from pushwise.hosted import csrf

pytestmark = pytest.mark.integration

CATEGORIES = [
    {"key": "promotions", "name": "Promotions", "description": "Sales and offers"},
    {"key": "orders", "name": "Orders", "channels": ["email", "inbox"]},
]


async def _page_path(client: httpx.AsyncClient, app, user: str, **profile: object) -> str:
    await client.put(f"/v1/apps/{app.id}/categories", json=CATEGORIES, headers=app.server_headers)
    await client.put(f"/v1/users/{user}", json=profile, headers=app.server_headers)
    await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": "ab" * 32, "user_id": user},
        headers=app.server_headers,
    )
    link = await client.post(f"/v1/users/{user}/preferences/link", headers=app.server_headers)
    return urlsplit(link.json()["url"]).path


def _guard(html: str) -> str:
    found = re.search(r'name="guard" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def _form(html: str, **changes: object) -> dict[str, object]:
    """The form as a browser would send it: hidden fields, checked boxes, times; then `changes`."""
    fields: dict[str, object] = {
        name: value for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', html)
    }
    fields.pop("action", None)
    fields["guard"] = _guard(html)
    fields["cell"] = re.findall(r'name="cell" value="([^"]+)"[^>]*checked', html)
    fields["channel"] = re.findall(r'name="channel" value="([^"]+)"[^>]*checked', html)
    fields["quiet_start"] = re.search(r'name="quiet_start" id="quiet-start" value="([^"]*)"', html).group(1)
    fields["quiet_end"] = re.search(r'name="quiet_end" id="quiet-end" value="([^"]*)"', html).group(1)
    fields.update(changes)
    return fields


async def test_the_page_changes_what_the_user_unticks_and_nothing_else(client, make_app) -> None:
    app = await make_app()
    path = await _page_path(client, app, "ann", email="ann@example.com")
    shown = await client.get(path)
    assert shown.status_code == 200
    assert "script" not in shown.text.lower()
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in shown.headers["content-security-policy"]
    assert "form-action 'self'" in shown.headers["content-security-policy"]
    assert shown.cookies.get(csrf.COOKIE)
    assert 'lang="en"' in shown.text
    # The channels that concern ann: her iPhone, her e-mail, and the inbox Orders names.
    assert re.findall(r'name="channel" value="(\w+)"', shown.text) == ["apns", "email", "inbox"]

    form = _form(shown.text)
    form["cell"] = [c for c in form["cell"] if c != "promotions:email"]
    saved = await client.post(path, data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{path}?saved=1"
    again = await client.get(saved.headers["location"])
    assert 'id="saved"' in again.text

    prefs = (await client.get("/v1/users/ann/preferences", headers=app.server_headers)).json()
    assert prefs["categories"]["promotions"]["email"] is False
    assert prefs["categories"]["promotions"]["apns"] is True

    # Saving the page unchanged stores no choice: ann keeps following the defaults.
    await client.put(
        f"/v1/apps/{app.id}/categories",
        json=[{**CATEGORIES[0], "default": False}, CATEGORIES[1]],
        headers=app.server_headers,
    )
    unchanged = await client.get(path)
    assert (await client.post(path, data=_form(unchanged.text))).status_code == 303
    prefs = (await client.get("/v1/users/ann/preferences", headers=app.server_headers)).json()
    assert prefs["categories"]["promotions"]["apns"] is False  # the new default
    assert prefs["categories"]["promotions"]["email"] is False  # her own choice


async def test_channels_switch_off_and_quiet_hours_are_set_and_cleared(client, make_app) -> None:
    app = await make_app()
    path = await _page_path(client, app, "bob", email="bob@example.com")
    html = (await client.get(path)).text
    form = _form(html, channel=["apns", "inbox"], quiet_start="22:00", quiet_end="07:00")
    assert (await client.post(path, data=form)).status_code == 303
    prefs = (await client.get("/v1/users/bob/preferences", headers=app.server_headers)).json()
    assert prefs["unsubscribed"] == ["email"]
    assert prefs["quiet_hours"] == {"start": "22:00", "end": "07:00"}

    html = (await client.get(path)).text
    assert 'value="22:00"' in html
    half = await client.post(path, data=_form(html, quiet_end=""))
    assert half.status_code == 400
    assert 'id="error"' in half.text
    cleared = _form(html, quiet_start="", quiet_end="", channel=["apns", "email", "inbox"])
    assert (await client.post(path, data=cleared)).status_code == 303
    prefs = (await client.get("/v1/users/bob/preferences", headers=app.server_headers)).json()
    assert (prefs["unsubscribed"], prefs["quiet_hours"]) == ([], None)


async def test_a_post_without_the_pages_guard_changes_nothing(client, make_app, server) -> None:
    app = await make_app()
    path = await _page_path(client, app, "cat", email="cat@example.com")
    form = _form((await client.get(path)).text, cell=[])
    async with httpx.AsyncClient(base_url=server) as stranger:  # another site's form: no cookie
        assert (await stranger.post(path, data=form)).status_code == 403
        stranger.cookies.set(csrf.COOKIE, "chosen-by-the-attacker", path="/v1")
        assert (await stranger.post(path, data=form)).status_code == 403
    assert (await client.post(path, data={**form, "guard": "0" * 64})).status_code == 403
    prefs = (await client.get("/v1/users/cat/preferences", headers=app.server_headers)).json()
    assert prefs["categories"]["promotions"]["apns"] is True


async def test_links_expire_and_forged_links_show_nothing(client, make_app, clock) -> None:
    app = await make_app()
    path = await _page_path(client, app, "dan", locale="fr-CA")
    token = path.rsplit("/", 1)[1]
    forged = await client.get(path[:-4] + "AAAA")
    assert forged.status_code == 404
    assert "Promotions" not in forged.text
    clock.advance(31 * 86_400)
    expired = await client.get(path)
    assert expired.status_code == 404
    assert 'lang="en"' in expired.text  # the user is not known from an expired link
    assert (await client.post(path, data={"guard": "x"})).status_code == 404
    assert token not in expired.text


@pytest.mark.parametrize(
    ("locale", "accept", "lang", "words"),
    [
        ("de-AT", None, "de", "Benachrichtigungseinstellungen"),
        ("fr", "de", "fr", "Préférences de notification"),
        ("zh-Hant-TW", None, "zh", "通知偏好设置"),
        (None, "es, fr-CH;q=0.8, de;q=0.9", "de", "Themen"),
        (None, None, "en", "Topics"),
    ],
)
async def test_the_page_speaks_the_users_language(client, make_app, locale, accept, lang, words) -> None:
    app = await make_app()
    path = await _page_path(client, app, "eve", **({"locale": locale} if locale else {}))
    page = await client.get(path, headers={"accept-language": accept} if accept else {})
    assert f'lang="{lang}"' in page.text
    assert words in page.text


async def test_the_unsubscribe_link_shows_the_page_and_its_button_unsubscribes(
    client, make_app, services
) -> None:
    from pushwise.domain.signed_tokens import issue_unsubscribe_token
    from pushwise.store.users import UserRepository

    app = await make_app()
    await _page_path(client, app, "fay", email="fay@example.com")
    fay = await UserRepository(services.db, services.clock).get(app.id, "fay")
    link = f"/v1/unsubscribe/{issue_unsubscribe_token(services.secret_key, app.id, fay.id)}"
    page = await client.get(link)
    assert page.status_code == 200
    assert 'id="unsubscribe-email"' in page.text
    action = re.search(r'<form method="post" action="([^"]+)" class="unsubscribe">', page.text).group(1)
    assert action.startswith("/v1/preferences/")
    prefs = (await client.get("/v1/users/fay/preferences", headers=app.server_headers)).json()
    assert prefs["unsubscribed"] == []  # showing the page changed nothing (RFC 8058: GET is safe)
    done = await client.post(action, data={"guard": _guard(page.text), "action": "unsubscribe_email"})
    assert done.status_code == 303
    prefs = (await client.get("/v1/users/fay/preferences", headers=app.server_headers)).json()
    assert prefs["unsubscribed"] == ["email"]

"""The failure notice's one-tap "why did you turn notifications off?", and its counts per app."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pushwise.domain.notice_answers import ANSWERS

pytestmark = pytest.mark.integration


async def _turned_off(
    client: httpx.AsyncClient, services, app, user: str, locale: str = "en"
) -> dict[str, Any]:
    """The user's only device reports notifications off; returns the failure notice in their inbox."""
    headers = app.server_headers
    await client.put(f"/v1/users/{user}", json={"locale": locale}, headers=headers)
    device = await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": f"{len(user):02d}" * 32, "user_id": user},
        headers=headers,
    )
    await client.patch(
        f"/v1/devices/{device.json()['id']}", json={"push_permission": "denied"}, headers=headers
    )
    worker = services.engine.worker()
    while await worker.run_once():
        pass
    [notice] = (await client.get(f"/v1/users/{user}/inbox", headers=headers)).json()["items"]
    return dict(notice)


async def _counts(client: httpx.AsyncClient, app) -> dict[str, Any]:
    answer = await client.get(f"/v1/apps/{app.id}/failure-notice/answers", headers=app.server_headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_the_notice_offers_the_question_and_one_tap_answers_count_per_app(
    client, make_app, services
) -> None:
    app = await make_app()
    notice = await _turned_off(client, services, app, "ann", locale="de-DE")
    offer = notice["data"]["answer"]
    assert offer["question"] == "Warum haben Sie die Mitteilungen ausgeschaltet?"
    assert [a["key"] for a in offer["answers"]] == list(ANSWERS)
    assert offer["answers"][0]["label"] == "Zu viele Mitteilungen"
    assert notice["url"] == offer["url"]
    path = urlsplit(offer["url"]).path
    assert path.startswith("/v1/notice-answers/")

    assert await _counts(client, app) == {"answers": dict.fromkeys(ANSWERS, 0), "total": 0}
    tapped = await client.post(path, json={"answer": "too_many"})
    assert (tapped.status_code, tapped.json()) == (200, {"answer": "too_many"})
    assert (await _counts(client, app))["answers"]["too_many"] == 1
    # A later answer replaces the first: a user counts once.
    await client.post(path, json={"answer": "wrong_time"})
    bob = await _turned_off(client, services, app, "bob")
    await client.post(urlsplit(bob["data"]["answer"]["url"]).path, json={"answer": "wrong_time"})
    counts = await _counts(client, app)
    assert counts == {"answers": {**dict.fromkeys(ANSWERS, 0), "wrong_time": 2}, "total": 2}

    refused = await client.post(path, json={"answer": "meh"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "answer")
    assert (await client.post(path[:-4] + "AAAA", json={"answer": "other"})).status_code == 404
    assert (await _counts(client, app))["total"] == 2


async def test_in_a_browser_the_link_is_a_page_of_buttons(client, make_app, services, server) -> None:
    app = await make_app()
    notice = await _turned_off(client, services, app, "cat", locale="fr")
    path = urlsplit(notice["data"]["answer"]["url"]).path
    page = await client.get(path)
    assert page.status_code == 200
    assert 'lang="fr"' in page.text
    assert "Pourquoi avez-vous désactivé les notifications ?" in page.text
    assert "script" not in page.text.lower()
    guard = re.search(r'name="guard" value="([0-9a-f]+)"', page.text).group(1)

    async with httpx.AsyncClient(base_url=server) as stranger:  # another site's form: no cookie
        assert (await stranger.post(path, data={"guard": guard, "answer": "other"})).status_code == 403
    assert (await _counts(client, app))["total"] == 0
    done = await client.post(path, data={"guard": guard, "answer": "not_relevant"})
    assert done.status_code == 303
    thanks = await client.get(done.headers["location"])
    assert 'id="thanks"' in thanks.text
    assert (await _counts(client, app))["answers"]["not_relevant"] == 1


async def test_counts_are_the_apps_own(client, make_app, services) -> None:
    a, b = await make_app("a"), await make_app("b")
    notice = await _turned_off(client, services, a, "dan")
    await client.post(urlsplit(notice["data"]["answer"]["url"]).path, json={"answer": "too_many"})
    assert (await _counts(client, b))["total"] == 0
    other = await client.get(f"/v1/apps/{a.id}/failure-notice/answers", headers=b.server_headers)
    assert other.status_code == 404
    assert (
        await client.get(f"/v1/apps/{a.id}/failure-notice/answers", headers=a.client_headers)
    ).status_code == 403
    assert (await _counts(client, a))["total"] == 1

"""Templates through the API: validated at save, versioned, previewed exactly as sent, per locale."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pushwise.store.schema import deliveries

pytestmark = pytest.mark.integration

WELCOME = {
    "locales": {
        "en": {
            "title": "Hi {{ user.attributes.first_name | default('there') }}",
            "body": "{{ variables.count }} {{ variables.count | plural('new arrival', 'new arrivals') }}",
            "inbox": {"title": "Inbox: {{ user.attributes.first_name }}"},
        },
        "zh": {"title": "{{ user.attributes.first_name }} 你好", "body": "{{ variables.count }} 件新品"},
    },
    "variants": [{"key": "b", "locales": {"en": {"title": "Psst {{ user.attributes.first_name }}"}}}],
}


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


async def inbox(client, app, user: str) -> list[dict]:
    return (await client.get(f"/v1/users/{user}/inbox", headers=app.server_headers)).json()["items"]


async def test_saved_templates_are_versioned_and_sends_keep_their_version(client, make_app, services) -> None:
    shop = await make_app()
    first = await client.put("/v1/templates/welcome", json=WELCOME, headers=shop.server_headers)
    assert (first.status_code, first.json()["version"], first.json()["warnings"]) == (201, 1, [])
    zh_user = {"locale": "zh-Hant-TW", "attributes": {"first_name": "美玲"}}
    await client.put("/v1/users/mei", json=zh_user, headers=shop.server_headers)
    await client.put("/v1/users/ana", json={"attributes": {"first_name": "Ana"}}, headers=shop.server_headers)
    preview = await client.post(
        "/v1/templates/welcome/preview",
        json={"user_id": "mei", "variables": {"count": 3}, "channel": "inbox"},
        headers=shop.server_headers,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["locale"] == "zh"
    sent = await client.post(
        "/v1/notifications",
        json={
            "to": {"user_ids": ["mei", "ana"]},
            "template": "welcome",
            "variables": {"count": 3},
            "fallback": {"channels": ["inbox"]},
        },
        headers=shop.server_headers,
    )
    assert sent.status_code == 202, sent.text
    changed = {"locales": {"en": {"title": "Changed"}, "zh": {"title": "改了"}}}
    assert (await client.put("/v1/templates/welcome", json=changed, headers=shop.server_headers)).json()[
        "version"
    ] == 2
    await drain(services)

    [mei] = await inbox(client, shop, "mei")
    assert (mei["title"], mei["body"]) == (preview.json()["parts"]["title"], preview.json()["parts"]["body"])
    assert (mei["title"], mei["body"]) == ("美玲 你好", "3 件新品")
    [ana] = await inbox(client, shop, "ana")
    assert (ana["title"], ana["body"]) == ("Inbox: Ana", "3 new arrivals")
    assert (await client.get("/v1/templates/welcome", headers=shop.server_headers)).json()["version"] == 2


async def test_preview_per_variant_channel_and_locale(client, make_app) -> None:
    shop = await make_app()
    await client.put("/v1/templates/welcome", json=WELCOME, headers=shop.server_headers)
    await client.put("/v1/users/ana", json={"attributes": {"first_name": "Ana"}}, headers=shop.server_headers)

    async def preview(**body):
        answer = await client.post(
            "/v1/templates/welcome/preview", json={"user_id": "ana", **body}, headers=shop.server_headers
        )
        return answer.status_code, answer.json()

    status, push = await preview(variables={"count": 1})
    assert (status, push["locale"], push["parts"]) == (
        200,
        "en",
        {"title": "Hi Ana", "body": "1 new arrival"},
    )
    _, variant = await preview(variables={"count": 2}, variant="b")
    assert variant["parts"]["title"] == "Psst Ana"
    _, chinese = await preview(locale="zh-CN", variables={"count": 2})
    assert chinese["parts"]["title"] == "Ana 你好"
    status, error = await preview(variant="zz")
    assert (status, error["error"]["code"]) == (422, "unknown_variant")
    status, error = await preview(user_id="nobody")
    assert (status, error["error"]["field"]) == (404, "user_id")


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"locales": {"en": {"title": "{% if %}"}}}, "locales.en.title"),
        ({"locales": {"en": {"title": "{{ password }}"}}}, "locales.en.title"),
        ({"locales": {"en": {"email": {"subject": "{{ 1 | nope }}"}}}}, "locales.en.email.subject"),
        ({"locales": {"en": {"title": "x"}}, "variants": [{"key": "a"}, {"key": "a"}]}, "variants[1].key"),
        ({"locales": {"en": {"title": "x", "body": "{{ 7 ** 200000 }}"}}}, "locales.en.body"),
        (
            {
                "locales": {"en": {"title": "x"}},
                "variants": [{"key": "a", "locales": {"en": {"title": "{{ 'x' * 10**9 }}"}}}],
            },
            "variants[0].locales.en.title",
        ),
    ],
)
async def test_bad_templates_are_refused_with_the_part(client, make_app, definition, field) -> None:
    shop = await make_app()
    answer = await client.put("/v1/templates/t", json=definition, headers=shop.server_headers)
    assert answer.status_code == 422
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == ("invalid_template", field)
    assert (await client.get("/v1/templates/t", headers=shop.server_headers)).status_code == 404


async def test_a_template_that_may_not_fit_gets_a_warning_with_the_numbers(client, make_app) -> None:
    shop = await make_app()
    long_body = "{% for item in variables.items %}{{ item.title }} for {{ item.price }}, {% endfor %}"
    answer = await client.put(
        "/v1/templates/digest",
        json={"locales": {"en": {"title": "New", "body": long_body}}},
        headers=shop.server_headers,
    )
    warnings = answer.json()["warnings"]
    assert {w["provider"] for w in warnings} == {"apns", "fcm", "webpush"}
    assert all(w["worst_case_bytes"] > w["limit"] for w in warnings)


async def test_notifications_name_a_template_of_their_own_app(client, make_app) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    await client.put("/v1/templates/welcome", json=WELCOME, headers=other.server_headers)
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    body = {"to": {"user_ids": ["ana"]}, "template": "welcome"}
    refused = await client.post("/v1/notifications", json=body, headers=shop.server_headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "unknown_template")
    both = await client.post(
        "/v1/notifications", json={**body, "content": {"title": "x"}}, headers=shop.server_headers
    )
    assert both.status_code == 422
    for path in ("/v1/templates/welcome", "/v1/templates"):
        seen = await client.get(path, headers=shop.server_headers)
        assert seen.status_code == 404 or seen.json()["items"] == []
    assert (await client.delete("/v1/templates/welcome", headers=shop.server_headers)).status_code == 404
    assert (await client.get("/v1/templates", headers=shop.client_headers)).status_code == 403


async def test_a_rendering_past_the_sandbox_bounds_is_the_templates_render_error(client, make_app, services):
    """`n ** n` for a huge n is refused before it is computed: a 422 preview, a failed delivery."""
    shop = await make_app()
    power = {"locales": {"en": {"title": "{{ variables.n ** variables.n }}"}}}
    assert (
        await client.put("/v1/templates/power", json=power, headers=shop.server_headers)
    ).status_code == 201
    await client.put("/v1/users/ana", json={}, headers=shop.server_headers)
    answer = await client.post(
        "/v1/templates/power/preview",
        json={"user_id": "ana", "variables": {"n": 300_000}},
        headers=shop.server_headers,
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, "render_failed")
    assert "digits" in answer.json()["error"]["message"]
    body = {
        "to": {"user_ids": ["ana"]},
        "template": "power",
        "variables": {"n": 300_000},
        "fallback": {"channels": ["inbox"]},
    }
    assert (await client.post("/v1/notifications", json=body, headers=shop.server_headers)).status_code == 202
    await drain(services)
    async with services.db.read.connect() as conn:
        reasons = (await conn.execute(select(deliveries.c.state, deliveries.c.last_reason))).all()
    assert [tuple(row) for row in reasons] == [("failed", "TemplateRenderFailed")]

"""Feedback over the HTTP API: the events posted answering pushes, counted per notification, campaign,
template and category, read back on each one's `GET` and from `GET /v1/feedback?by=`.

A campaign sends a templated notification in one category, a plain notification goes out in
another; users answer both. Every count read back equals the events posted (a resent batch counts
once), and another app sees none of them."""

from __future__ import annotations

from collections import Counter

import pytest

from pushwise.serving import campaign_service

pytestmark = pytest.mark.integration

TEMPLATE = {"locales": {"en": {"title": "Boots for {{ user.external_id }}", "body": "New in"}}}
USERS = ("ana", "ben", "cem")


async def drain(services) -> None:
    worker = services.engine.worker()
    while await worker.run_once():
        pass


def answers(notification_id: str, prefix: str, kinds: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [
        {"id": f"{prefix}-{n}", "type": kind, "user_id": user, "notification_id": notification_id}
        for n, (user, kind) in enumerate(kinds)
    ]


async def test_feedback_per_notification_campaign_template_and_category(client, make_app, services) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    headers = shop.server_headers
    for user in USERS:
        assert (await client.put(f"/v1/users/{user}", json={}, headers=headers)).is_success
    categories = [{"key": "deals", "name": "Deals"}, {"key": "news", "name": "News"}]
    assert (await client.put(f"/v1/apps/{shop.id}/categories", json=categories, headers=headers)).is_success
    assert (await client.put("/v1/templates/boots", json=TEMPLATE, headers=headers)).status_code == 201
    inbox = {"fallback": {"channels": ["inbox"]}}
    campaign = await client.post(
        "/v1/campaigns",
        json={
            "name": "boots",
            "notification": {
                "to": {"user_ids": list(USERS)},
                "template": "boots",
                "category": "deals",
                **inbox,
            },
        },
        headers=headers,
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    await campaign_service(services).runner.sweep()
    await drain(services)
    made = await client.get(f"/v1/campaigns/{campaign_id}/deliveries", headers=headers)
    [promo] = {item["notification_id"] for item in made.json()["items"]}
    plain = await client.post(
        "/v1/notifications",
        json={"to": {"user_ids": list(USERS)}, "content": {"title": "Read"}, "category": "news", **inbox},
        headers=headers,
    )
    news = plain.json()["id"]
    await drain(services)

    on_promo = [
        ("ana", "opened"),
        ("ben", "opened"),
        ("ana", "opened"),  # a second open is a second event
        ("ana", "clicked"),
        ("ben", "clicked"),
        ("cem", "dismissed"),
        ("cem", "not_interested"),
        ("ben", "too_many"),
        ("cem", "too_many"),
    ]
    on_news = [("ana", "opened"), ("ben", "dismissed"), ("cem", "not_interested")]
    batch = answers(promo, "p", on_promo) + answers(news, "n", on_news)
    for _ in range(2):  # resent whole: every event is stored (and counted) once
        assert (await client.post("/v1/events", json={"events": batch}, headers=headers)).status_code == 200
    promo_counts = dict(Counter(kind for _user, kind in on_promo))
    news_counts = dict(Counter(kind for _user, kind in on_news))
    assert set(promo_counts) == {"opened", "clicked", "dismissed", "not_interested", "too_many"}

    async def get(path: str, with_headers: dict[str, str] = headers) -> dict:
        answer = await client.get(path, headers=with_headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert (await get(f"/v1/notifications/{promo}"))["feedback"] == promo_counts
    assert (await get(f"/v1/notifications/{news}"))["feedback"] == news_counts
    assert (await get(f"/v1/campaigns/{campaign_id}"))["feedback"] == promo_counts
    [listed] = await get("/v1/campaigns")
    assert listed["feedback"] == promo_counts
    assert (await get("/v1/templates/boots"))["feedback"] == promo_counts
    assert (await get("/v1/templates"))["items"][0]["feedback"] == promo_counts

    by_category = await get("/v1/feedback?by=category")
    assert by_category == {
        "by": "category",
        "items": [{"key": "deals", "feedback": promo_counts}, {"key": "news", "feedback": news_counts}],
    }
    assert (await get("/v1/feedback?by=campaign"))["items"] == [
        {"key": campaign_id, "feedback": promo_counts}
    ]
    assert (await get("/v1/feedback?by=template"))["items"] == [{"key": "boots", "feedback": promo_counts}]

    # Another app reads none of it, and a dimension outside the three is refused with its field.
    for by in ("category", "campaign", "template"):
        assert (await get(f"/v1/feedback?by={by}", other.server_headers))["items"] == []
    refused = await client.get("/v1/feedback?by=notification", headers=headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "query.by"
    missing = await client.get("/v1/feedback", headers=headers)
    assert missing.status_code == 422

"""The dashboard's segment preview: a rule's count and users, saved segments, refusals with paths."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from .conftest import TenantApp

pytestmark = pytest.mark.integration
GERMANS = {"field": "country", "op": "=", "value": "DE"}


async def test_the_preview_page_counts_lists_and_refuses_with_the_path(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    for app, people in ((shop, {"anna": "DE", "ben": "DE", "chloe": "FR"}), (other, {"dora": "DE"})):
        for user, country in people.items():
            await client.put(
                f"/v1/users/{user}", json={"location": {"country": country}}, headers=app.server_headers
            )
    theirs = (
        await client.post(
            "/v1/segments", json={"name": "theirs", "rule": GERMANS}, headers=other.server_headers
        )
    ).json()
    ours = (
        await client.post(
            "/v1/segments", json={"name": "germans", "rule": GERMANS}, headers=shop.server_headers
        )
    ).json()
    assert (await client.get("/dashboard/segments")).status_code == 303  # not logged in
    await client.post("/dashboard/login", data={"key": shop.server_key})

    page = await client.get("/dashboard/segments", params={"rule": json.dumps(GERMANS)})
    assert page.status_code == 200
    assert '<span class="value">2</span>' in page.text
    assert "<code>anna</code>" in page.text
    assert "<code>ben</code>" in page.text
    assert "dora" not in page.text
    assert "theirs" not in page.text
    assert "germans" in page.text  # the saved segments are listed

    saved = await client.get("/dashboard/segments", params={"segment": ours["id"]})
    assert "users in germans" in saved.text
    assert '<span class="value">2</span>' in saved.text
    borrowed = await client.get("/dashboard/segments", params={"segment": theirs["id"]})
    assert 'id="segment-count"' not in borrowed.text  # another app's segment is not found, nor shown

    bad = {"any": [GERMANS, {"field": "country", "op": "<", "value": "DE"}]}
    refused = await client.get("/dashboard/segments", params={"rule": json.dumps(bad)})
    assert refused.status_code == 200
    assert "<code>rule.any[1].op</code>" in refused.text
    not_json = await client.get("/dashboard/segments", params={"rule": "{all: [}"})
    assert "<code>rule</code>: not JSON" in not_json.text

"""Client-key headers that act for one user: the key plus that user's token from the server key."""

from __future__ import annotations

import httpx

from tests.integration.conftest import TenantApp


async def user_token(client: httpx.AsyncClient, app: TenantApp, external_id: str, **body: object) -> str:
    response = await client.post(
        f"/v1/users/{external_id}/token", json=body or None, headers=app.server_headers
    )
    assert response.status_code == 200, response.text
    return str(response.json()["user_token"])


async def as_user(client: httpx.AsyncClient, app: TenantApp, external_id: str) -> dict[str, str]:
    return {**app.client_headers, "X-Pushwise-User-Token": await user_token(client, app, external_id)}

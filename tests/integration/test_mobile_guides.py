"""The requests the mobile guides (docs/guides/ios.md, android.md) print are ones pushwise accepts.

The Swift and Kotlin cannot be built here; the HTTP they send can. Each guide's `POST /v1/devices`
and `POST /v1/events` are sent as written (placeholders filled in, the event's time set to the
server's now) with a client key and a user token, and the event types the code posts are ones
pushwise knows.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pushwise.domain.audience.event_types import NOTIFICATION_EVENTS
from pushwise.domain.clock import ManualClock

from .conftest import TenantApp

pytestmark = pytest.mark.integration
GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"


def documented_requests(guide: str) -> dict[str, tuple[dict[str, str], str]]:
    """`METHOD path` -> (headers, body) of each ```http block."""
    blocks = re.findall(r"```http\n(.*?)```", (GUIDES / guide).read_text(), flags=re.DOTALL)
    requests = {}
    for block in blocks:
        head, _, body = block.partition("\n\n")
        start, *header_lines = head.splitlines()
        headers = dict(line.split(": ", 1) for line in header_lines)
        requests[start] = (headers, body)
    return requests


def filled_in(text: str, app: TenantApp, user_token: str, platform: str) -> str:
    token = secrets.token_hex(32) if platform == "ios" else "f" + secrets.token_urlsafe(120)
    for placeholder, value in {
        "pw_cli_...": app.client_key,
        "eyJhcHAiOi...": user_token,
        "<64+ hex characters>": token,
        "<FCM registration token>": token,
    }.items():
        text = text.replace(placeholder, value)
    return text


@pytest.mark.parametrize(("guide", "platform"), [("ios.md", "ios"), ("android.md", "android")])
async def test_the_documented_registration_and_events_are_accepted_with_a_client_key(
    guide: str,
    platform: str,
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    clock: ManualClock,
) -> None:
    app = await make_app()
    issued = await client.post("/v1/users/u1/token", json={"ttl_seconds": 86400}, headers=app.server_headers)
    assert issued.status_code == 200, issued.text
    headers, body = documented_requests(guide)["POST /v1/devices"]
    user_token = issued.json()["user_token"]
    sent = {k: filled_in(v, app, user_token, platform) for k, v in headers.items()}
    answer = await client.post(
        "/v1/devices", content=filled_in(body, app, user_token, platform), headers=sent
    )
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    assert (registered["platform"], registered["active"], registered["user_id"]) == (platform, True, "u1")
    without_token = {k: v for k, v in sent.items() if k != "X-Pushwise-User-Token"}
    unproven = filled_in(body, app, "", platform)
    refused = await client.post("/v1/devices", content=unproven, headers=without_token)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "user_token_required")

    accepted = await client.post(  # a push for the events to answer
        "/v1/notifications",
        json={"to": {"device_ids": [registered["id"]]}, "content": {"title": "Shipped"}},
        headers=app.server_headers,
    )
    assert accepted.status_code == 202, accepted.text
    headers, body = documented_requests(guide)["POST /v1/events"]
    events = json.loads(body.replace("ntf_...", accepted.json()["id"]))
    for event in events["events"]:
        event["at"] = datetime.fromtimestamp(clock.now(), UTC).isoformat()
    sent = {k: filled_in(v, app, user_token, platform) for k, v in headers.items()}
    for duplicates in (0, len(events["events"])):  # posting the same ids again counts nothing twice
        answer = await client.post("/v1/events", json=events, headers=sent)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "accepted": len(events["events"]) - duplicates,
            "duplicates": duplicates,
            "late": 0,
        }


@pytest.mark.parametrize("guide", ["ios.md", "android.md"])
def test_the_guides_post_the_four_push_events(guide: str) -> None:
    posted = set(re.findall(r'pushwiseEvent\(\s*"(\w+)"', (GUIDES / guide).read_text()))
    assert posted == {"delivered", "opened", "clicked", "dismissed"}
    assert posted <= NOTIFICATION_EVENTS

"""The authorisation matrix: every route x every credential kind x own and other tenant's objects.

The routes come from the running app, so a new endpoint fails this test until its row is added
to `ROWS`. A row holds the expected status for each credential kind (in `CREDENTIALS` order:
admin, A's server key, A's client key, A's client key + a user token, A's dashboard session, no
credential, A's revoked key, B's server key, B's client key + a user token), once against app
A's objects ("own") and once against app B's ("other"; None where the route names no object of
any tenant). User tokens are always for the user of the tenant whose objects the cell touches.

Beyond the status, no successful answer may contain an identifier of a tenant the credential
does not act for (unless the request itself named it). Rate limits are off here: the matrix
sends a few thousand requests from one address in seconds.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI

from pushwise.api.app import create_app
from pushwise.bootstrap import Services
from pushwise.domain.china.receipts import receipt_token
from pushwise.settings import Settings
from tests.integration.authz_world import (
    CREDENTIALS,
    METRICS_TOKEN,
    SETTINGS,
    Tenant,
    World,
    notification,
    uplift_model,
)
from tests.integration.conftest import serve_app

Params = Callable[[World, Tenant], Awaitable[dict[str, str]]]
Payload = Callable[[World, Tenant], Any]


async def nothing(_w: World, _t: Tenant) -> dict[str, str]:
    return {}


async def app(_w: World, t: Tenant) -> dict[str, str]:
    return {"app_id": t.app_id}


def app_with(setting: str) -> Params:
    async def params(w: World, t: Tenant) -> dict[str, str]:
        await w.configure(t, setting)  # again for every cell: one that succeeded may have removed it
        return {"app_id": t.app_id}

    return params


async def app_and_new_key(w: World, t: Tenant) -> dict[str, str]:
    return {"app_id": t.app_id, "key_id": await w.new_client_key(t)}


async def device(_w: World, t: Tenant) -> dict[str, str]:
    return {"device_id": t.device_id}


async def new_device(w: World, t: Tenant) -> dict[str, str]:
    return {"device_id": await w.new_device(t)}


async def notification_of(_w: World, t: Tenant) -> dict[str, str]:
    return {"notification_id": t.notification_id}


async def new_notification(w: World, t: Tenant) -> dict[str, str]:
    return {"notification_id": await w.new_notification(t)}


async def delivery(_w: World, t: Tenant) -> dict[str, str]:
    return {"notification_id": t.notification_id, "delivery_id": str(t.delivery_id)}


async def user(_w: World, t: Tenant) -> dict[str, str]:
    return {"external_id": t.user}


async def new_user(w: World, t: Tenant) -> dict[str, str]:
    return {"external_id": await w.new_user(t)}


async def user_item(w: World, t: Tenant) -> dict[str, str]:
    return {"external_id": t.user, "item_id": str(await w.new_inbox_item(t))}


async def item(w: World, t: Tenant) -> dict[str, str]:
    return {"item_id": str(await w.new_inbox_item(t))}


async def unsubscribe(_w: World, t: Tenant) -> dict[str, str]:
    return {"token": t.unsubscribe_token}


async def experiment(_w: World, t: Tenant) -> dict[str, str]:
    return {"experiment_id": t.experiment_id}


async def click(_w: World, t: Tenant) -> dict[str, str]:
    return {"token": t.click_token}


async def uplift_model_of(_w: World, t: Tenant) -> dict[str, str]:
    return {"model_id": t.uplift_model_id}


async def preference_page(_w: World, t: Tenant) -> dict[str, str]:
    return {"token": t.preference_token}


TEMPLATE = {"locales": {"en": {"title": "Hi {{ user.external_id }}"}}}
GORUSH_PUSH = {"notifications": [{"tokens": ["ab" * 32], "platform": 1, "message": "Hi"}]}


async def template_key(w: World, t: Tenant) -> dict[str, str]:
    """A template of the target tenant, under a key only that tenant uses."""
    key = f"tpl-{t.app_id[-8:]}"
    await w.ok("PUT", f"/v1/templates/{key}", t, json=TEMPLATE)
    return {"key": key}


async def new_template_key(_w: World, t: Tenant) -> dict[str, str]:
    return {"key": f"tpl-{secrets.token_hex(4)}"}


JOURNEY = {
    "name": "hello",
    "trigger": {"event": "app_open"},
    "steps": [{"notify": {"content": {"title": "Hi"}}}],
}


async def campaign_of(w: World, t: Tenant) -> dict[str, str]:
    """A journey of the target tenant (a new one per cell: pausing one must not change the next)."""
    return {"campaign_id": (await w.ok("POST", "/v1/campaigns", t, json=JOURNEY))["id"]}


async def catalog_item(w: World, t: Tenant) -> dict[str, str]:
    """An item of the target tenant, under an id only that tenant uses."""
    item_id = f"sku-{t.app_id[-8:]}"
    await w.ok("PUT", "/v1/catalog/items", t, json={"items": [{"id": item_id, "title": "Boots"}]})
    return {"item_id": item_id}


def preview_for(_w: World, t: Tenant) -> dict[str, str]:
    return {"user_id": t.user}


async def notice_answer(_w: World, t: Tenant) -> dict[str, str]:
    return {"token": t.notice_answer_token}


async def vendor_receipts_path(w: World, t: Tenant) -> dict[str, str]:
    return {"vendor": "huawei", "app_id": t.app_id}


def vendor_receipt_token(w: World, _t: Tenant) -> dict[str, str]:
    """The receipt address token of app A's huawei receipts, also sent to B's address (a 404)."""
    return {"token": receipt_token(w.services.secret_key, "huawei", w.own.app_id)}


SEGMENT = {"name": "germans", "rule": {"field": "country", "op": "=", "value": "DE"}}


async def new_segment(w: World, t: Tenant) -> dict[str, str]:
    created = await w.services.engine.segments.create(t.app_id, SEGMENT["name"], SEGMENT["rule"])
    return {"segment_id": created.id}


def explain_for(_w: World, t: Tenant) -> dict[str, Any]:
    return {"user_id": t.user, "notification": {"content": {"title": "Sale"}, "category": "promotions"}}


async def webpush_everywhere(w: World, _t: Tenant) -> dict[str, str]:
    for tenant in (w.own, w.other):
        await w.configure(tenant, "providers/webpush")
    return {}


async def sdk_module(_w: World, _t: Tenant) -> dict[str, str]:
    return {"name": "pushwise.js"}


async def stylesheet(_w: World, _t: Tenant) -> dict[str, str]:
    return {"name": "dashboard.css"}


def fixed(body: Any) -> Payload:
    return lambda _w, _t: body


def new_ios_device(_w: World, t: Tenant) -> dict[str, Any]:
    return {"platform": "ios", "token": secrets.token_hex(32), "user_id": t.user}


def batch_of_devices(w: World, t: Tenant) -> dict[str, Any]:
    return {"devices": [new_ios_device(w, t)]}


def events_of(_w: World, t: Tenant) -> dict[str, Any]:
    """An event of the target tenant's user that names the target tenant's push."""
    event = {"id": secrets.token_hex(8), "type": "opened", "user_id": t.user}
    return {"events": [event | {"notification_id": t.notification_id, "delivery_id": t.delivery_id}]}


def to_device(_w: World, t: Tenant) -> dict[str, Any]:
    return notification([t.device_id])


def session_form(w: World, t: Tenant) -> dict[str, str]:
    return {"csrf": w.session_csrf, "app": t.app_id, "delivery_ids": str(t.delivery_id)}


def login_form(w: World, _t: Tenant) -> dict[str, str]:
    return {"key": w.own.server_key}


@dataclass(frozen=True)
class Row:
    own: str
    other: str | None
    params: Params = nothing
    json: Payload | None = None
    form: Payload | None = None
    query: Payload | None = None


# Status per credential kind:  admin srv cli cli+u sess none revk B-srv B-cli+u
ROWS: dict[str, Row] = {
    "GET /openapi.json": Row("200 200 200 200 200 200 200 200 200", None),
    "GET /docs": Row("200 200 200 200 200 200 200 200 200", None),
    "GET /docs/oauth2-redirect": Row("200 200 200 200 200 200 200 200 200", None),
    "GET /healthz": Row("200 200 200 200 200 200 200 200 200", None),
    "GET /readyz": Row("200 200 200 200 200 200 200 200 200", None),
    "GET /metrics": Row("200 401 401 401 401 401 401 401 401", None),
    # apps and keys
    "POST /v1/apps": Row("201 403 403 403 401 401 401 403 403", None, json=fixed({"name": "more"})),
    "GET /v1/apps": Row("200 403 403 403 401 401 401 403 403", None),
    "GET /v1/apps/{app_id}": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    "POST /v1/apps/{app_id}/keys": Row(
        "201 201 403 403 401 401 401 404 403",
        "201 404 403 403 401 401 401 201 403",
        app,
        json=fixed({"kind": "client"}),
    ),
    "DELETE /v1/apps/{app_id}/keys/{key_id}": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app_and_new_key
    ),
    # audit: the admin reads all, a server key its own app (the leak check covers the content)
    "GET /v1/audit": Row("200 200 403 403 401 401 401 200 403", None),
    # Gorush compatibility (server key): tokens are no tenant's objects, each app registers its own
    "POST /api/push": Row("403 200 403 403 401 401 401 200 403", None, json=fixed(GORUSH_PUSH)),
    "GET /api/stat/app": Row("403 200 403 403 401 401 401 200 403", None),
    "GET /api/stat/go": Row("403 200 403 403 401 401 401 200 403", None),
    # notifications (server key); the "object" of a send is the device it names
    "POST /v1/notifications": Row(
        "403 202 403 403 401 401 401 422 403", "403 422 403 403 401 401 401 202 403", json=to_device
    ),
    "GET /v1/notifications/{notification_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", notification_of
    ),
    "GET /v1/notifications/{notification_id}/deliveries": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", notification_of
    ),
    "GET /v1/notifications/{notification_id}/deliveries/{delivery_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", delivery
    ),
    "POST /v1/notifications/{notification_id}/cancel": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", new_notification
    ),
    # devices: a client key registers and removes devices; naming a user takes that user's token
    "POST /v1/devices": Row(
        "403 201 401 201 401 401 401 201 403", "403 201 401 403 401 401 401 201 201", json=new_ios_device
    ),
    "POST /v1/devices:batch": Row("403 200 403 403 401 401 401 200 403", None, json=batch_of_devices),
    "GET /v1/devices/{device_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", device
    ),
    "PATCH /v1/devices/{device_id}": Row(
        "403 200 401 200 401 401 401 404 404",
        "403 404 404 404 401 401 401 200 200",
        new_device,
        json=fixed({"push_permission": "granted"}),
    ),
    "DELETE /v1/devices/{device_id}": Row(
        "403 204 401 204 401 401 401 404 404", "403 404 404 404 401 401 401 204 204", new_device
    ),
    # events: a server key, or a client key with the token of the user whose events they are; an
    # event naming another app's push is refused (422)
    "POST /v1/events": Row(
        "403 200 401 200 401 401 401 422 403", "403 422 401 403 401 401 401 200 200", json=events_of
    ),
    # experiments (server key)
    "POST /v1/experiments": Row(
        "403 201 403 403 401 401 401 201 403",
        None,
        json=fixed({"name": "holdout", "arms": ["a", "b"], "control": "b"}),
    ),
    "POST /v1/experiments/{experiment_id}/assignments": Row(
        "403 200 403 403 401 401 401 404 403",
        "403 404 403 403 401 401 401 200 403",
        experiment,
        json=fixed({"assignments": [{"user_id": "u1", "arm": "promo"}]}),
    ),
    "GET /v1/experiments/{experiment_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", experiment
    ),
    # segments (server key)
    "POST /v1/segments": Row("403 201 403 403 401 401 401 201 403", None, json=fixed(SEGMENT)),
    "GET /v1/segments": Row("403 200 403 403 401 401 401 200 403", None),
    "POST /v1/segments/preview": Row(
        "403 200 403 403 401 401 401 200 403", None, json=fixed({"rule": SEGMENT["rule"]})
    ),
    "GET /v1/segments/{segment_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", new_segment
    ),
    "PUT /v1/segments/{segment_id}": Row(
        "403 200 403 403 401 401 401 404 403",
        "403 404 403 403 401 401 401 200 403",
        new_segment,
        json=fixed(SEGMENT),
    ),
    "DELETE /v1/segments/{segment_id}": Row(
        "403 204 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 204 403", new_segment
    ),
    # categories (admin or the app's server key) and users' preferences (server key)
    "PUT /v1/apps/{app_id}/categories": Row(
        "200 200 403 403 401 401 401 404 403",
        "200 404 403 403 401 401 401 200 403",
        app,
        json=fixed([{"key": "promotions", "name": "Promotions"}]),
    ),
    "GET /v1/apps/{app_id}/categories": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    # feedback counts per campaign, category or template: always the caller's own app's
    "GET /v1/feedback": Row("403 200 403 403 401 401 401 200 403", None, query=fixed({"by": "category"})),
    # the gate's explanation names a user by external id, always within the caller's own app
    "POST /v1/gate/explain": Row("403 200 403 403 401 401 401 200 403", None, json=explain_for),
    "GET /v1/users/{external_id}/preferences": Row("403 200 403 403 401 401 401 200 403", None, user),
    "PATCH /v1/users/{external_id}/preferences": Row(
        "403 200 403 403 401 401 401 200 403", None, user, json=fixed({"unsubscribed": []})
    ),
    "POST /v1/users/{external_id}/preferences/link": Row("403 200 403 403 401 401 401 200 403", None, user),
    # the hosted preference page: its signed link is the credential; a post needs the page's own
    # double-submit guard, which no cell has
    "GET /v1/preferences/{token}": Row(
        "200 200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200 200", preference_page
    ),
    "POST /v1/preferences/{token}": Row(
        "403 403 403 403 403 403 403 403 403", "403 403 403 403 403 403 403 403 403", preference_page
    ),
    # templates (server key); a key names a template within the caller's own app
    "PUT /v1/templates/{key}": Row(
        "403 201 403 403 401 401 401 201 403", None, new_template_key, json=fixed(TEMPLATE)
    ),
    "GET /v1/templates": Row("403 200 403 403 401 401 401 200 403", None),
    "GET /v1/templates/{key}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", template_key
    ),
    "DELETE /v1/templates/{key}": Row(
        "403 204 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 204 403", template_key
    ),
    "POST /v1/templates/{key}/preview": Row(
        "403 200 403 403 401 401 401 404 403",
        "403 404 403 403 401 401 401 200 403",
        template_key,
        json=preview_for,
    ),
    # uplift models (server key): a model learns from its own app's experiments only; scoring a
    # model still training is a 409
    "POST /v1/uplift-models": Row(
        "403 201 403 403 401 401 401 422 403",
        "403 422 403 403 401 401 401 201 403",
        json=lambda _w, t: uplift_model(t),
    ),
    "GET /v1/uplift-models/{model_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", uplift_model_of
    ),
    "POST /v1/uplift-models/{model_id}/score": Row(
        "403 409 403 403 401 401 401 404 403",
        "403 404 403 403 401 401 401 409 403",
        uplift_model_of,
        json=fixed({"user_ids": ["u1"]}),
    ),
    # campaigns (server key)
    "POST /v1/campaigns": Row("403 201 403 403 401 401 401 201 403", None, json=fixed(JOURNEY)),
    "GET /v1/campaigns": Row("403 200 403 403 401 401 401 200 403", None),
    "GET /v1/campaigns/{campaign_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", campaign_of
    ),
    "POST /v1/campaigns/{campaign_id}/pause": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", campaign_of
    ),
    "POST /v1/campaigns/{campaign_id}/resume": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", campaign_of
    ),
    "GET /v1/campaigns/{campaign_id}/deliveries": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", campaign_of
    ),
    "GET /v1/campaigns/{campaign_id}/analytics": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", campaign_of
    ),
    # the catalogue (server key); an item id names an item within the caller's own app
    "PUT /v1/catalog/items": Row(
        "403 200 403 403 401 401 401 200 403",
        None,
        json=fixed({"items": [{"id": "sku-1", "title": "Boots", "category": "shoes"}]}),
    ),
    "GET /v1/catalog/items/{item_id}": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", catalog_item
    ),
    "DELETE /v1/catalog/items/{item_id}": Row(
        "403 204 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 204 403", catalog_item
    ),
    "GET /v1/users/{external_id}/picks": Row("403 200 403 403 401 401 401 200 403", None, user),
    # the gate's policy (admin or the app's server key)
    "PUT /v1/apps/{app_id}/policy": Row(
        "200 200 403 403 401 401 401 404 403",
        "200 404 403 403 401 401 401 200 403",
        app,
        json=fixed({"android_routes": ["vendor", "fcm"], "caps": [{"window_seconds": 86400, "max": 3}]}),
    ),
    "GET /v1/apps/{app_id}/policy": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    # phone makers post receipts to an address that carries its own token (one app's, one vendor's)
    "POST /v1/vendor-receipts/{vendor}/{app_id}": Row(
        "200 200 200 200 200 200 200 200 200",
        "404 404 404 404 404 404 404 404 404",
        vendor_receipts_path,
        json=fixed({"statuses": []}),
        query=vendor_receipt_token,
    ),
    # click links carry their own signed token
    "GET /r/{token}": Row(
        "302 302 302 302 302 302 302 302 302", "302 302 302 302 302 302 302 302 302", click
    ),
    # users and their inboxes (server key)
    "POST /v1/users/batch": Row(
        "403 200 403 403 401 401 401 200 403", None, json=fixed({"users": [{"external_id": "u2"}]})
    ),
    "PUT /v1/users/{external_id}": Row("403 200 403 403 401 401 401 200 403", None, user, json=fixed({})),
    "GET /v1/users/{external_id}": Row("403 200 403 403 401 401 401 200 403", None, user),
    "DELETE /v1/users/{external_id}": Row(
        "403 204 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 204 403", new_user
    ),
    # a user's data: export and erase (server key; the erase answers what it removed)
    "GET /v1/users/{external_id}/data": Row("403 200 403 403 401 401 401 200 403", None, user),
    "DELETE /v1/users/{external_id}/data": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", new_user
    ),
    "GET /v1/users/{external_id}/inbox": Row("403 200 403 403 401 401 401 200 403", None, user),
    "POST /v1/users/{external_id}/inbox/{item_id}/read": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", user_item
    ),
    "POST /v1/users/{external_id}/inbox/{item_id}/unread": Row(
        "403 200 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 200 403", user_item
    ),
    "DELETE /v1/users/{external_id}/inbox/{item_id}": Row(
        "403 204 403 403 401 401 401 404 403", "403 404 403 403 401 401 401 204 403", user_item
    ),
    "POST /v1/users/{external_id}/token": Row("403 200 403 403 401 401 401 200 403", None, user),
    # the Web SDK: its files for anyone; each app's own VAPID public key for its server or client
    # key (both tenants have one configured, so B's keys get B's)
    "GET /sdk/{name}": Row("200 200 200 200 200 200 200 200 200", None, sdk_module),
    "GET /v1/webpush/vapid-public-key": Row("403 200 200 200 401 401 401 200 200", None, webpush_everywhere),
    # a user's own inbox: the app's key plus that user's token (no token: 401; another app's: 403)
    "GET /v1/inbox": Row("403 401 401 200 401 401 401 401 403", "403 401 401 403 401 401 401 401 200"),
    "POST /v1/inbox/{item_id}/read": Row(
        "403 401 401 200 401 401 401 401 403", "403 401 401 403 401 401 401 401 200", item
    ),
    "POST /v1/inbox/{item_id}/unread": Row(
        "403 401 401 200 401 401 401 401 403", "403 401 401 403 401 401 401 401 200", item
    ),
    "DELETE /v1/inbox/{item_id}": Row(
        "403 401 401 204 401 401 401 401 403", "403 401 401 403 401 401 401 401 204", item
    ),
    "GET /v1/inbox/stream": Row("403 401 401 200 401 401 401 401 403", "403 401 401 403 401 401 401 401 200"),
    # the failure notice's answer link: its signed token is the credential; a JSON answer needs no
    # more (a cross-site page cannot send JSON without a preflight); the page's form needs its guard
    "GET /v1/notice-answers/{token}": Row(
        "200 200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200 200", notice_answer
    ),
    "POST /v1/notice-answers/{token}": Row(
        "200 200 200 200 200 200 200 200 200",
        "200 200 200 200 200 200 200 200 200",
        notice_answer,
        json=fixed({"answer": "other"}),
    ),
    "GET /v1/apps/{app_id}/failure-notice/answers": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    # e-mail unsubscribe links carry their own signed token: no credential needed
    "GET /v1/unsubscribe/{token}": Row(
        "200 200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200 200", unsubscribe
    ),
    "POST /v1/unsubscribe/{token}": Row(
        "200 200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200 200", unsubscribe
    ),
    # alerts (admin or the app's server key)
    "GET /v1/apps/{app_id}/alert-sinks": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    "PUT /v1/apps/{app_id}/alert-sinks": Row(
        "200 200 403 403 401 401 401 404 403",
        "200 404 403 403 401 401 401 200 403",
        app,
        json=fixed([{"type": "webhook", "url": "https://hooks.example.com/alerts"}]),
    ),
    "GET /v1/apps/{app_id}/alert-rules": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    "PUT /v1/apps/{app_id}/alert-rules": Row(
        "200 200 403 403 401 401 401 404 403",
        "200 404 403 403 401 401 401 200 403",
        app,
        json=fixed([{"name": "rate", "kind": "success_rate", "threshold": 0.9, "window_seconds": 60}]),
    ),
    "GET /v1/apps/{app_id}/alerts": Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app
    ),
    # the dashboard: its session is the only credential; without one every page sends to the log-in
    "GET /dashboard/login": Row("200 200 200 200 200 200 200 200 200", None),
    "POST /dashboard/login": Row("303 303 303 303 303 303 303 303 303", None, form=login_form),
    "POST /dashboard/logout": Row("303 303 303 303 303 303 303 303 303", None, form=session_form),
    "GET /dashboard/static/{name}": Row("200 200 200 200 200 200 200 200 200", None, stylesheet),
    "GET /dashboard": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/events": Row("401 401 401 401 200 401 401 401 401", None),
    "GET /dashboard/notifications": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/notifications/{notification_id}": Row(
        "303 303 303 303 200 303 303 303 303", "303 303 303 303 404 303 303 303 303", notification_of
    ),
    "GET /dashboard/notifications/{notification_id}/deliveries/{delivery_id}/why": Row(
        "303 303 303 303 200 303 303 303 303", "303 303 303 303 404 303 303 303 303", delivery
    ),
    "GET /dashboard/dead-letters": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/segments": Row("303 303 303 303 200 303 303 303 303", None),
    "POST /dashboard/dead-letters/replay": Row(
        "303 303 303 303 303 303 303 303 303", "303 303 303 303 404 303 303 303 303", form=session_form
    ),
    "GET /dashboard/devices": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/users": Row("303 303 303 303 200 303 303 303 303", None, query=fixed({"user": "u1"})),
    "GET /dashboard/alerts": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/uplift-models": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/uplift-models/{model_id}": Row(
        "303 303 303 303 200 303 303 303 303", "303 303 303 303 404 303 303 303 303", uplift_model_of
    ),
    "GET /dashboard/campaigns": Row("303 303 303 303 200 303 303 303 303", None),
    "GET /dashboard/campaigns/{campaign_id}": Row(
        "303 303 303 303 200 303 303 303 303", "303 303 303 303 404 303 303 303 303", campaign_of
    ),
    "GET /dashboard/health": Row("303 303 303 303 200 303 303 303 303", None),
}

# Per-app settings: admin or the app's server key; PUT stores, GET shows, DELETE removes.
for setting, body in SETTINGS.items():
    removed = "204" if setting in ("receipts", "failure-notice") else "200"
    ROWS[f"PUT /v1/apps/{{app_id}}/{setting}"] = Row(
        "200 200 403 403 401 401 401 404 403",
        "200 404 403 403 401 401 401 200 403",
        app,
        json=lambda _w, _t, body=body: body(),
    )
    ROWS[f"GET /v1/apps/{{app_id}}/{setting}"] = Row(
        "200 200 403 403 401 401 401 404 403", "200 404 403 403 401 401 401 200 403", app_with(setting)
    )
    ROWS[f"DELETE /v1/apps/{{app_id}}/{setting}"] = Row(
        f"{removed} {removed} 403 403 401 401 401 404 403",
        f"{removed} 404 403 403 401 401 401 {removed} 403",
        app_with(setting),
    )


@pytest.fixture
def settings(settings: Settings) -> Settings:
    unlimited = {"api_rate_limit": 0.0, "api_rate_limit_per_ip": 0.0, "dashboard_logins_per_minute": 0.0}
    return settings.with_overrides(metrics_token=METRICS_TOKEN, **unlimited)


@pytest.fixture
async def served(services: Services) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app_ = create_app(services)
    async with serve_app(app_) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield app_, client


def route_keys(app_: FastAPI) -> list[str]:
    keys = []
    for context in fastapi.routing.iter_route_contexts(app_.routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD" or context.methods == {"HEAD"}:
                keys.append(f"{method} {context.path}")
    return keys


async def answer(world: World, key: str, row: Row, kind: str, target: Tenant) -> httpx.Response:
    method, template = key.split(" ", 1)
    path = template.format(**await row.params(world, target))
    headers, cookies = world.credential(kind, target)
    world.client.cookies.clear()  # only the cell's own credential, never a cookie an earlier cell got
    request = world.client.build_request(
        method,
        path,
        headers=headers,
        cookies=cookies,
        params=row.query(world, target) if row.query else None,
        json=row.json(world, target) if row.json else None,
        data=row.form(world, target) if row.form else None,
    )
    response = await world.client.send(request, stream=True)
    try:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            await response.aread()
    finally:
        await response.aclose()
    return response


async def test_every_route_answers_every_credential_as_tabled(
    served: tuple[FastAPI, httpx.AsyncClient], services: Services
) -> None:
    app_, client = served
    routes = route_keys(app_)
    missing = [key for key in routes if key not in ROWS]
    assert not missing, (
        f"routes without a row in ROWS ({__file__}): {missing}. Add one per route, with the status "
        "each credential kind should get for its own and another tenant's objects."
    )
    world = World(client, services)
    await world.build()
    unexpected, leaks, checked = [], [], 0
    actual_table = []
    for key in routes:
        row = ROWS[key]
        columns = [("own", world.own, row.own)] + ([("other", world.other, row.other)] if row.other else [])
        got_columns = []
        for column, target, expected_text in columns:
            expected = expected_text.split()
            got = []
            for kind, want in zip(CREDENTIALS, expected, strict=True):
                response = await answer(world, key, row, kind, target)
                checked += 1
                got.append(str(response.status_code))
                if str(response.status_code) != want:
                    unexpected.append(f"{key} [{column}] {kind}: {response.status_code} (expected {want})")
                owner = world.owner_of(kind)
                stranger = world.other if owner is world.own else world.own if owner is world.other else None
                if stranger is not None and response.status_code < 300 and response.is_stream_consumed:
                    sent = str(response.request.url) + response.request.content.decode(errors="replace")
                    seen = [i for i in stranger.private_ids() if i and i in response.text and i not in sent]
                    if seen:
                        leaks.append(f"{key} [{column}] {kind}: answer names the other tenant's {seen}")
            got_columns.append(" ".join(got))
        actual_table.append(f"{key}: {got_columns}")
    print(f"authorisation matrix: {checked} cells checked, {len(unexpected)} unexpected, {len(leaks)} leaks")
    assert not leaks, leaks
    assert not unexpected, "\n".join(unexpected) + "\n\nactual:\n" + "\n".join(actual_table)

"""Two tenants and every kind of credential, for the authorisation matrix.

`World` builds app A ("own") and app B ("other") through the API, each with a user, a device, a
notification and its delivery, an inbox item, a user token and an unsubscribe token; A also gets
a revoked server key and a dashboard session. Per-app settings (`SETTINGS`) are stored by the
cells that need them. `credential` gives the headers and cookies of each kind of credential.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushwise.bootstrap import Services
from pushwise.domain.signed_tokens import issue_notice_answer_token, issue_unsubscribe_token
from pushwise.store.inbox import InboxRepository, NewInboxItem
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY

CREDENTIALS = (
    "admin",
    "server",
    "client",
    "client+user",
    "session",
    "none",
    "revoked",
    "other_server",
    "other_client+user",
)
METRICS_TOKEN = "pw-metrics-0123456789abcdef0123456789"


@dataclass
class Tenant:
    app_id: str
    server_key: str
    client_key: str
    user: str = "u1"
    user_id: str = ""
    device_id: str = ""
    notification_id: str = ""
    delivery_id: int = 0
    inbox_item: int = 0
    user_token: str = ""
    unsubscribe_token: str = ""
    revoked_key: str = ""
    experiment_id: str = ""
    click_token: str = ""
    preference_token: str = ""
    notice_answer_token: str = ""
    uplift_model_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def private_ids(self) -> list[str]:
        """What only this tenant (and the admin) may ever see in an answer."""
        return [
            self.app_id,
            self.user_id,
            self.device_id,
            self.notification_id,
            self.experiment_id,
            self.uplift_model_id,
        ]


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


class World:
    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.own: Tenant
        self.other: Tenant
        self.session_cookie = ""
        self.session_csrf = ""

    async def build(self) -> None:
        self.own = await self._tenant("own")
        self.other = await self._tenant("other")
        revoked = await self.ok("POST", f"/v1/apps/{self.own.app_id}/keys", self.own, json={"kind": "server"})
        await self.ok("DELETE", f"/v1/apps/{self.own.app_id}/keys/{revoked['id']}", self.own)
        self.own.revoked_key = revoked["key"]
        login = await self.client.post("/dashboard/login", data={"key": self.own.server_key})
        assert login.status_code == 303, login.text
        self.session_cookie = login.cookies["pushwise_session"]
        payload = self.session_cookie.rsplit(".", 1)[0]
        self.session_csrf = orjson.loads(base64.urlsafe_b64decode(payload))["c"]

    async def ok(self, method: str, path: str, tenant: Tenant, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, headers=bearer(tenant.server_key), **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def _tenant(self, name: str) -> Tenant:
        created = await self.client.post("/v1/apps", json={"name": name}, headers=bearer(ADMIN_KEY))
        body = created.json()
        tenant = Tenant(body["id"], body["server_key"], body["client_key"])
        user = await self.ok("PUT", f"/v1/users/{tenant.user}", tenant, json={"email": f"{name}@example.com"})
        tenant.user_id = user["id"]
        tenant.device_id = await self.new_device(tenant)
        sent = await self.ok("POST", "/v1/notifications", tenant, json=notification([tenant.device_id]))
        tenant.notification_id = sent["id"]
        deliveries = await self.ok("GET", f"/v1/notifications/{sent['id']}/deliveries", tenant)
        tenant.delivery_id = int(deliveries["items"][0]["id"])
        tenant.inbox_item = await self.new_inbox_item(tenant)
        token = await self.ok("POST", f"/v1/users/{tenant.user}/token", tenant)
        tenant.user_token = token["user_token"]
        tenant.unsubscribe_token = issue_unsubscribe_token(SECRET_KEY.encode(), tenant.app_id, tenant.user_id)
        tenant.notice_answer_token = issue_notice_answer_token(
            SECRET_KEY.encode(), tenant.app_id, tenant.user_id
        )
        experiment = {"name": "past promo", "arms": ["promo", "control"], "control": "control"}
        tenant.experiment_id = (await self.ok("POST", "/v1/experiments", tenant, json=experiment))["id"]
        link = self.services.click_links.wrap(tenant.app_id, tenant.delivery_id, "https://shop.example.com/")
        assert link is not None
        tenant.click_token = link.rsplit("/", 1)[1]
        page = await self.ok("POST", f"/v1/users/{tenant.user}/preferences/link", tenant)
        tenant.preference_token = page["url"].rsplit("/", 1)[1]
        opened = {"id": f"{name}-opened", "type": "opened", "user_id": tenant.user}
        await self.ok("POST", "/v1/events", tenant, json={"events": [opened]})
        model = await self.ok("POST", "/v1/uplift-models", tenant, json=uplift_model(tenant))
        tenant.uplift_model_id = model["id"]
        return tenant

    async def configure(self, tenant: Tenant, setting: str) -> None:
        """Store one per-app setting (`providers/apns`, `receipts`, ...) with a valid body."""
        await self.ok("PUT", f"/v1/apps/{tenant.app_id}/{setting}", tenant, json=SETTINGS[setting]())

    async def new_device(self, tenant: Tenant) -> str:
        body = {"platform": "ios", "token": secrets.token_hex(32), "user_id": tenant.user}
        return str((await self.ok("POST", "/v1/devices", tenant, json=body))["id"])

    async def new_inbox_item(self, tenant: Tenant) -> int:
        items = InboxRepository(self.services.db, self.services.clock)
        new = NewInboxItem(tenant.app_id, tenant.user_id, None, None, "Hello", "Inbox", {}, None)
        item = await items.add(new)
        assert item is not None
        return item.id

    async def new_user(self, tenant: Tenant) -> str:
        external = "u-" + secrets.token_hex(4)
        await self.ok("PUT", f"/v1/users/{external}", tenant, json={})
        return external

    async def new_notification(self, tenant: Tenant) -> str:
        sent = await self.ok("POST", "/v1/notifications", tenant, json=notification([tenant.device_id]))
        return str(sent["id"])

    async def new_client_key(self, tenant: Tenant) -> str:
        issued = await self.ok("POST", f"/v1/apps/{tenant.app_id}/keys", tenant, json={"kind": "client"})
        return str(issued["id"])

    def credential(self, kind: str, target: Tenant) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and cookies of a credential kind; user tokens are the target tenant's user's."""
        own, other = self.own, self.other
        user_token = {"x-pushwise-user-token": target.user_token}
        return {
            "admin": (bearer(ADMIN_KEY), {}),
            "server": (bearer(own.server_key), {}),
            "client": (bearer(own.client_key), {}),
            "client+user": (bearer(own.client_key) | user_token, {}),
            "session": ({}, {"pushwise_session": self.session_cookie}),
            "none": ({}, {}),
            "revoked": (bearer(own.revoked_key), {}),
            "other_server": (bearer(other.server_key), {}),
            "other_client+user": (bearer(other.client_key) | user_token, {}),
        }[kind]

    def owner_of(self, kind: str) -> Tenant | None:
        """The tenant a credential acts for (None: every tenant, or none)."""
        if kind in ("server", "client", "client+user", "session", "revoked"):
            return self.own
        if kind.startswith("other_"):
            return self.other
        return None


def notification(device_ids: list[str]) -> dict[str, Any]:
    return {"to": {"device_ids": device_ids}, "content": {"title": "Hi", "body": "There"}}


def uplift_model(tenant: Tenant) -> dict[str, Any]:
    """A model that learns from the tenant's imported experiment (its goal has an event)."""
    learn_from = {"experiments": [tenant.experiment_id]}
    return {"name": "who to send", "learn_from": learn_from, "goal": {"event": "opened", "measure": "any"}}


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


RSA_KEY = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def apns_settings() -> dict[str, Any]:
    return {
        "team_id": "ABCDE12345",
        "key_id": "KEY1234567",
        "private_key": pem(ec.generate_private_key(ec.SECP256R1())),
        "topic": "com.example.shop",
        "environment": "development",
    }


def fcm_settings() -> dict[str, Any]:
    account = {
        "type": "service_account",
        "project_id": "shop-project",
        "private_key_id": "k1",
        "private_key": RSA_KEY,
        "client_email": "pushwise@shop-project.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return {"service_account": account}


WEBPUSH = {"subject": "mailto:ops@example.com"}
WEBHOOK = {"url": "https://hooks.example.com/pushwise", "secret": "webhook-secret-0123456789"}
EMAIL = {"host": "127.0.0.1", "port": 2525, "sender": "Shop <shop@example.com>", "starttls": False}
RECEIPTS = {"url": "https://receipts.example.com/in", "secret": "receipts-secret-0123456789"}
FAILURE_NOTICE = {"templates": {"en": {"title": "We could not reach you", "body": "Open the app"}}}

# Phone makers' credentials, their endpoints on a closed loopback port: the credential check that a
# PUT runs finds them unreachable and stores them anyway (no request leaves the machine).
CLOSED = "http://127.0.0.1:9"
VENDOR_SETTINGS: dict[str, dict[str, Any]] = {
    "huawei": {"client_id": "101", "client_secret": "huawei-secret-0123456789", "token_uri": CLOSED},
    "honor": {
        "app_id": "102",
        "client_id": "103",
        "client_secret": "honor-secret-0123456789",
        "token_uri": CLOSED,
    },
    "xiaomi": {"app_secret": "xiaomi-secret-0123456789", "package_name": "com.example.shop"},
    "oppo": {"app_key": "oppo-key", "master_secret": "oppo-secret-0123456789"},
    "vivo": {"app_id": "104", "app_key": "vivo-key", "app_secret": "vivo-secret-0123456789"},
}

SETTINGS: dict[str, Callable[[], Any]] = {
    "providers/apns": apns_settings,
    "providers/fcm": fcm_settings,
    "providers/webpush": lambda: WEBPUSH,
    "providers/webhook": lambda: WEBHOOK,
    "providers/email": lambda: EMAIL,
    "receipts": lambda: RECEIPTS,
    "failure-notice": lambda: FAILURE_NOTICE,
    **{
        f"providers/{vendor}": (lambda body=body: body | {"endpoint": CLOSED})
        for vendor, body in VENDOR_SETTINGS.items()
    },
}

"""The China endpoints over HTTP: vendor credentials (checked, sealed, SSRF rule), the policy's
routes, vendor receipts, tenant isolation, and one notification end to end through simulators."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pushwise.api.app import create_app
from pushwise.bootstrap import Services, build_services
from pushwise.delivery.service import WorkerService
from pushwise.domain.china.vendors import VENDORS
from pushwise.settings import Settings
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.store.migrate import upgrade
from pushwise.store.schema import user_events
from tests.integration.conftest import ADMIN_KEY, SECRET_KEY, TenantApp, serve_app

pytestmark = pytest.mark.integration

FCM = "fcm-token-" + "y" * 40
SECRETS = ("client_secret", "app_secret", "master_secret")


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, VendorSimulatorHandle]]:
    started: dict[str, VendorSimulatorHandle] = {}
    try:
        for vendor in VENDORS:
            # The API's clock is simulated here: OPPO's and vivo's signed timestamps are not checked.
            started[vendor] = start_vendor_simulator(vendor, faults={"check_timestamps": False})
        yield started
    finally:
        for handle in started.values():
            handle.stop()


@pytest.mark.parametrize("vendor", VENDORS)
async def test_credentials_are_checked_sealed_and_never_returned(
    vendor: str,
    sims: dict[str, VendorSimulatorHandle],
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
) -> None:
    shop = await make_app()
    sim = sims[vendor]
    put = await client.put(
        f"/v1/apps/{shop.id}/providers/{vendor}", json=sim.provider_config(), headers=shop.server_headers
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["credential_check"] == ("not_available" if vendor == "xiaomi" else "ok")
    assert f"/v1/vendor-receipts/{vendor}/{shop.id}?token=" in body["receipt_url"]
    got = await client.get(f"/v1/apps/{shop.id}/providers/{vendor}", headers=shop.server_headers)
    shown = got.text
    assert all(sim.credentials[name] not in shown for name in SECRETS if name in sim.credentials)
    assert got.json()["receipt_url"] == body["receipt_url"]


@pytest.mark.parametrize("vendor", ["huawei", "honor", "oppo", "vivo"])
async def test_a_refused_secret_is_a_clear_422(
    vendor: str,
    sims: dict[str, VendorSimulatorHandle],
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
) -> None:
    shop = await make_app()
    sim = sims[vendor]
    secret = next(name for name in SECRETS if name in sim.credentials)
    wrong = {**sim.provider_config(), secret: "not-it"}
    put = await client.put(f"/v1/apps/{shop.id}/providers/{vendor}", json=wrong, headers=shop.server_headers)
    assert put.status_code == 422
    assert put.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("vendor", "body", "field"),
    [
        ("huawei", {"client_secret": "s"}, "client_id"),
        ("xiaomi", {"app_secret": "s", "package_name": "not a package"}, "package_name"),
        ("xiaomi", {"app_secret": "s", "package_name": "com.a.b", "token_uri": "https://x"}, "token_uri"),
        ("oppo", {"app_key": "k"}, "master_secret"),
        ("vivo", {"app_id": "1", "app_key": "k", "app_secret": "s", "endpoint": "ftp://x"}, "endpoint"),
    ],
)
async def test_bad_configuration_is_refused_naming_the_field(
    vendor: str,
    body: dict,
    field: str,
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],  # type: ignore[type-arg]
) -> None:
    shop = await make_app()
    put = await client.put(f"/v1/apps/{shop.id}/providers/{vendor}", json=body, headers=shop.server_headers)
    assert put.status_code == 422, put.text
    assert field in (put.json()["error"].get("field") or "")


async def test_an_unknown_vendor_is_not_a_route(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app()
    put = await client.put(f"/v1/apps/{shop.id}/providers/meizu", json={}, headers=shop.server_headers)
    assert put.status_code == 404
    assert put.json()["error"]["code"] == "not_found"


async def test_private_endpoints_follow_the_ssrf_rule(
    tmp_path: Path, sims: dict[str, VendorSimulatorHandle]
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'strict.db'}", admin_key=ADMIN_KEY, secret_key=SECRET_KEY
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(3))
    try:
        async with serve_app(create_app(services)) as base, httpx.AsyncClient(base_url=base) as http:
            created = (
                await http.post(
                    "/v1/apps", json={"name": "s"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
                )
            ).json()
            headers = {"authorization": f"Bearer {created['server_key']}"}
            put = await http.put(
                f"/v1/apps/{created['id']}/providers/huawei",
                json=sims["huawei"].provider_config(),
                headers=headers,
            )
            assert put.status_code == 422
            assert put.json()["error"]["field"] in ("endpoint", "token_uri")
    finally:
        await services.close()


async def test_vendor_settings_and_policy_are_tenant_isolated(
    sims: dict[str, VendorSimulatorHandle],
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    await client.put(
        f"/v1/apps/{shop.id}/providers/xiaomi",
        json=sims["xiaomi"].provider_config(),
        headers=shop.server_headers,
    )
    for method, path, body in (
        ("GET", f"/v1/apps/{shop.id}/providers/xiaomi", None),
        ("PUT", f"/v1/apps/{shop.id}/providers/xiaomi", sims["xiaomi"].provider_config()),
        ("DELETE", f"/v1/apps/{shop.id}/providers/xiaomi", None),
        ("GET", f"/v1/apps/{shop.id}/policy", None),
        ("PUT", f"/v1/apps/{shop.id}/policy", {"android_routes": ["fcm"]}),
    ):
        answer = await client.request(method, path, json=body, headers=other.server_headers)
        assert answer.status_code in (403, 404), (method, path, answer.status_code)
    still = await client.get(f"/v1/apps/{shop.id}/providers/xiaomi", headers=shop.server_headers)
    assert still.status_code == 200
    assert (await client.get(f"/v1/apps/{shop.id}/policy", headers=shop.server_headers)).json()[
        "android_routes"
    ] == ["vendor", "fcm"]


async def test_policy_routes_are_validated(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app()
    bad = await client.put(
        f"/v1/apps/{shop.id}/policy", json={"android_routes": ["vendor", "apns"]}, headers=shop.server_headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["field"].startswith("android_routes")
    good = await client.put(
        f"/v1/apps/{shop.id}/policy", json={"android_routes": ["fcm", "vendor"]}, headers=shop.server_headers
    )
    assert good.json()["android_routes"] == ["fcm", "vendor"]


async def test_vendor_quotas_show_the_published_defaults_and_take_overrides(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app()
    path = f"/v1/apps/{shop.id}/policy"
    shown = (await client.get(path, headers=shop.server_headers)).json()["vendor_quotas"]
    assert shown["huawei"] == {"marketing_per_device_day": 2, "marketing_hours": None}
    assert shown["xiaomi"]["marketing_per_device_day"] == 5
    assert shown["vivo"] == {"marketing_per_device_day": 2, "marketing_hours": "07:00-23:00"}
    override = {
        "vendor_quotas": {"huawei": {"marketing_per_device_day": 5}, "vivo": {"marketing_hours": None}}
    }
    answer = await client.put(path, json=override, headers=shop.server_headers)
    assert answer.status_code == 200, answer.text
    quotas = (await client.get(path, headers=shop.server_headers)).json()["vendor_quotas"]
    assert quotas["huawei"]["marketing_per_device_day"] == 5
    assert quotas["vivo"] == {"marketing_per_device_day": 2, "marketing_hours": None}
    assert quotas["oppo"]["marketing_per_device_day"] == 2
    for bad, field in (
        ({"meizu": {"marketing_per_device_day": 1}}, "vendor_quotas.meizu"),
        ({"vivo": {"marketing_hours": "23:00-07:00"}}, "vendor_quotas.vivo.marketing_hours"),
        ({"oppo": {"marketing_per_device_day": -1}}, "vendor_quotas.oppo.marketing_per_device_day"),
    ):
        refused = await client.put(path, json={"vendor_quotas": bad}, headers=shop.server_headers)
        assert refused.status_code == 422
        assert refused.json()["error"]["field"].startswith(field)


async def test_vendor_devices_need_android(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app()
    ios = await client.post(
        "/v1/devices",
        json={"platform": "ios", "token": "a" * 64, "vendor": "huawei"},
        headers=shop.server_headers,
    )
    assert ios.status_code == 422
    assert ios.json()["error"]["field"] == "vendor"
    ok = await client.post(
        "/v1/devices",
        json={
            "platform": "android",
            "token": "IQAAAACy0kYhAAA+a/b=",
            "vendor": "huawei",
            "installation_id": "i1",
        },
        headers=shop.server_headers,
    )
    assert ok.status_code == 201, ok.text
    assert (ok.json()["vendor"], ok.json()["installation_id"]) == ("huawei", "i1")


async def test_receipts_mark_dead_tokens_and_post_events(
    sims: dict[str, VendorSimulatorHandle],
    client: httpx.AsyncClient,
    make_app: Callable[..., Awaitable[TenantApp]],
    services: Services,
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    put = await client.put(
        f"/v1/apps/{shop.id}/providers/huawei",
        json=sims["huawei"].provider_config(),
        headers=shop.server_headers,
    )
    url = put.json()["receipt_url"].split("/v1/", 1)[1]
    registered = []
    for token in ("hw-dead", "hw-off", "hw-ok"):
        device = await client.post(
            "/v1/devices",
            json={"platform": "android", "vendor": "huawei", "token": token, "user_id": "ann"},
            headers=shop.server_headers,
        )
        registered.append(device.json()["id"])
    statuses = {
        "statuses": [
            {"token": "hw-dead", "status": 2},
            {"token": "hw-off", "status": 6},
            {"token": "hw-ok", "status": 0, "biTag": "ntf_x"},
        ]
    }
    answer = await client.post("/v1/" + url, json=statuses)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": 3, "applied": 3}
    dead, off, ok = [
        (await client.get(f"/v1/devices/{d}", headers=shop.server_headers)).json() for d in registered
    ]
    assert (dead["active"], dead["deactivated_reason"]) == (False, "huawei:receipt:status=2")
    assert (off["active"], off["deactivated_reason"]) == (False, "PermissionDenied")
    assert ok["active"] is True
    async with services.db.read.connect() as conn:
        posted = sorted(
            (row.type, row.properties["device_id"])
            for row in await conn.execute(select(user_events).where(user_events.c.app_id == shop.id))
        )
    assert posted == sorted([("delivered", registered[2]), ("permission_changed", registered[1])])
    # Another app's address, or a forged token, reveals nothing and changes nothing.
    forged = url.replace(shop.id, other.id)
    assert (await client.post("/v1/" + forged, json=statuses)).status_code == 404
    assert (
        await client.post(f"/v1/vendor-receipts/huawei/{shop.id}?token=forged", json=statuses)
    ).status_code == 404
    assert (
        await client.post(f"/v1/vendor-receipts/meizu/{shop.id}?token=x", json=statuses)
    ).status_code == 404


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        admin_key=ADMIN_KEY,
        secret_key=SECRET_KEY,
        allow_private_endpoints=True,
        worker_poll_seconds=0.02,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    services = build_services(settings, rng=random.Random(9))
    app = create_app(services, background=[WorkerService(services.engine.worker())])
    try:
        async with serve_app(app) as base_url:
            yield base_url
    finally:
        await services.close()


async def test_end_to_end_a_dead_vendor_token_falls_over_to_the_next_vendor(
    live: str, sims: dict[str, VendorSimulatorHandle]
) -> None:
    await sims["huawei"].areset()
    await sims["oppo"].areset()
    async with httpx.AsyncClient(base_url=live, timeout=10) as http:
        created = (
            await http.post(
                "/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
            )
        ).json()
        headers = {"authorization": f"Bearer {created['server_key']}"}
        for vendor in ("huawei", "oppo"):
            put = await http.put(
                f"/v1/apps/{created['id']}/providers/{vendor}",
                json=sims[vendor].provider_config(),
                headers=headers,
            )
            assert put.status_code == 200, put.text
        # One phone that the app registered with two vendor tokens (say, after a ROM change).
        ids, tokens = {}, {"huawei": "hw-tok", "oppo": "op-tok"}
        for vendor, token in tokens.items():
            device = {
                "platform": "android",
                "vendor": vendor,
                "token": token,
                "user_id": "li",
                "installation_id": "p1",
            }
            answer = await http.post("/v1/devices", json=device, headers=headers)
            assert answer.status_code == 201
            ids[vendor] = answer.json()["id"]
        # Two vendor routes rank alike and go in device-id order: the first one's token is dead.
        first, second = sorted(ids, key=ids.__getitem__)
        dead, live_token = tokens[first], tokens[second]
        await sims[first].aset_faults({"dead_tokens": [dead], "outage": False, "check_timestamps": False})
        sent = await http.post(
            "/v1/notifications",
            json={"to": {"user_ids": ["li"]}, "content": {"title": "到货了", "body": "您的订单已发货"}},
            headers=headers,
        )
        notification_id = sent.json()["id"]
        assert sent.json()["recipients"] == 1
        deadline = time.monotonic() + 20
        while (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).json()[
            "status"
        ] != "completed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        items = (await http.get(f"/v1/notifications/{notification_id}/deliveries", headers=headers)).json()[
            "items"
        ]
        gone = (await http.get(f"/v1/devices/{ids[first]}", headers=headers)).json()
    assert [(i["channel"], i["state"]) for i in items] == [(second, "delivered")]
    assert (await sims[second].atoken_counts())[live_token]["delivered"] == 1
    assert (await sims[first].atoken_counts())[dead] == {"received": 1, "delivered": 0}
    assert gone["active"] is False
    assert gone["deactivated_reason"].startswith(first + ":")


async def test_categories_carry_vendor_classes_checked_when_configured(
    client: httpx.AsyncClient, make_app: Callable[..., Awaitable[TenantApp]]
) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/categories"
    incomplete = [{"key": "orders", "name": "Orders", "vendor_class": "service", "vendors": {"huawei": {}}}]
    refused = await client.put(url, json=incomplete, headers=shop.server_headers)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "[0].vendors.huawei.category"
    wrong_level = [
        {
            "key": "o",
            "name": "O",
            "vendors": {"oppo": {"channel_id": "c", "category": "X", "notify_level": 3}},
        }
    ]
    assert (await client.put(url, json=wrong_level, headers=shop.server_headers)).status_code == 422
    good = [
        {
            "key": "orders",
            "name": "Orders",
            "vendor_class": "service",
            "vendors": {"huawei": {"category": "EXPRESS"}},
        },
        {"key": "promotions", "name": "Promotions"},
    ]
    assert (await client.put(url, json=good, headers=shop.server_headers)).status_code == 200
    orders, promotions = (await client.get(url, headers=shop.server_headers)).json()
    assert (orders["vendor_class"], orders["vendors"]) == ("service", {"huawei": {"category": "EXPRESS"}})
    assert len(orders["warnings"]) == 4  # honor, xiaomi, oppo, vivo get it as marketing
    assert all("as marketing" in warning for warning in orders["warnings"])
    assert (promotions["vendor_class"], promotions["warnings"]) == ("marketing", [])


async def test_a_service_category_goes_as_the_vendors_service_class(
    live: str, sims: dict[str, VendorSimulatorHandle]
) -> None:
    huawei = sims["huawei"]
    await huawei.areset()
    await huawei.aset_faults({"outage": False, "check_timestamps": False})
    async with httpx.AsyncClient(base_url=live, timeout=10) as http:
        created = (
            await http.post(
                "/v1/apps", json={"name": "shop"}, headers={"authorization": f"Bearer {ADMIN_KEY}"}
            )
        ).json()
        headers, app_id = {"authorization": f"Bearer {created['server_key']}"}, created["id"]
        assert (
            await http.put(
                f"/v1/apps/{app_id}/providers/huawei", json=huawei.provider_config(), headers=headers
            )
        ).status_code == 200
        categories = [
            {
                "key": "orders",
                "name": "Orders",
                "vendor_class": "service",
                "vendors": {"huawei": {"category": "EXPRESS"}},
            },
            {"key": "promotions", "name": "Promotions"},
        ]
        assert (
            await http.put(f"/v1/apps/{app_id}/categories", json=categories, headers=headers)
        ).status_code == 200
        device = {"platform": "android", "vendor": "huawei", "token": "hw-class", "user_id": "mo"}
        assert (await http.post("/v1/devices", json=device, headers=headers)).status_code == 201
        for category in ("orders", "promotions"):
            sent = await http.post(
                "/v1/notifications",
                json={
                    "to": {"user_ids": ["mo"]},
                    "content": {"title": "Hi", "body": category},
                    "category": category,
                },
                headers=headers,
            )
            notification_id = sent.json()["id"]
            deadline = time.monotonic() + 20
            while (await http.get(f"/v1/notifications/{notification_id}", headers=headers)).json()[
                "status"
            ] != "completed":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
    received = await huawei.areceived("hw-class")
    assert [r["payload"]["message"]["android"]["category"] for r in received] == ["EXPRESS", "MARKETING"]
    assert [r["payload"]["message"]["android"]["notification"]["importance"] for r in received] == [
        "NORMAL",
        "LOW",
    ]

"""`/alert-sinks`, `/alert-rules` and `/alerts` over the real server: validation, SSRF refusal, tenancy."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from pushwise.bootstrap import Services
from pushwise.monitoring.rules import DEFAULT_RULES
from pushwise.settings import Settings

from .conftest import TenantApp
from .monitoring_rig import never_leader
from .test_api_providers import certificate

pytestmark = pytest.mark.integration
DEFAULT_NAMES = [rule.name for rule in DEFAULT_RULES]
SINKS = [
    {"type": "webhook", "url": "http://127.0.0.1:9/hooks/alerts"},
    {"type": "email", "to": "oncall@example.com"},
]


@pytest.fixture(autouse=True)
def manual_evaluation(services: Services) -> None:
    """The server's own monitoring loop must not evaluate alongside the test's steps."""
    services.monitoring.is_leader = never_leader


def error_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    error: dict[str, str] = response.json()["error"]
    return error


async def test_sinks_are_saved_and_shown(client: httpx.AsyncClient, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/alert-sinks"
    assert (await client.get(url, headers=shop.server_headers)).json() == []
    saved = await client.put(url, json=SINKS, headers=shop.server_headers)
    assert saved.status_code == 200, saved.text
    assert saved.json() == SINKS
    assert (await client.get(url, headers=shop.server_headers)).json() == SINKS
    assert (await client.put(url, json=[], headers=shop.server_headers)).json() == []
    assert (await client.get(url, headers=shop.server_headers)).json() == []


@pytest.mark.parametrize(
    ("sink", "code", "field"),
    [
        ({"type": "sms", "to": "+15550100"}, "invalid_sink", "1.type"),
        ({"url": "https://hooks.example.com/a"}, "invalid_sink", "1.type"),
        ({"type": "email", "to": "not-an-address"}, "invalid_email", "1.to"),
        ({"type": "email", "to": "a@example.com, b@example.com"}, "invalid_email", "1.to"),
        ({"type": "email", "to": "a@example.com\r\nBcc: x@example.com"}, "invalid_email", "1.to"),
        ({"type": "webhook", "url": "ftp://127.0.0.1/hook"}, "invalid_endpoint", "1.url"),
        ({"type": "webhook"}, "invalid_endpoint", "1.url"),
    ],
)
async def test_invalid_sinks_are_refused_and_nothing_is_saved(
    client: httpx.AsyncClient, make_app, sink: dict[str, str], code: str, field: str
) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/alert-sinks"
    await client.put(url, json=SINKS[:1], headers=shop.server_headers)
    error = error_of(await client.put(url, json=[SINKS[1], sink], headers=shop.server_headers))
    assert (error["code"], error["field"]) == (code, field)
    assert (await client.get(url, headers=shop.server_headers)).json() == SINKS[:1]


async def test_a_body_that_is_not_a_list_of_sinks_is_a_validation_error(
    client: httpx.AsyncClient, make_app
) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/alert-sinks"
    error = error_of(await client.put(url, json=SINKS[0], headers=shop.server_headers))
    assert error["code"] == "validation_error"
    error = error_of(await client.put(url, json=["https://hooks.example.com"], headers=shop.server_headers))
    assert (error["code"], error["field"]) == ("validation_error", "[0]")


class TestWithoutPrivateEndpoints:
    """The default of a real deployment: webhook sinks must be public https destinations."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, allow_private_endpoints=False)

    @pytest.mark.parametrize(
        ("url", "code"),
        [
            ("https://127.0.0.1/hook", "private_endpoint_refused"),
            ("https://10.0.0.7/hook", "private_endpoint_refused"),
            ("https://[::1]/hook", "private_endpoint_refused"),
            ("https://169.254.169.254/latest/meta-data", "private_endpoint_refused"),
            ("https://localhost/hook", "private_endpoint_refused"),
            ("https://alerts.internal/hook", "private_endpoint_refused"),
            ("http://93.184.216.34/hook", "invalid_endpoint"),
            ("https://user:pw@93.184.216.34/hook", "invalid_endpoint"),
        ],
    )
    async def test_private_webhooks_are_refused(
        self, client: httpx.AsyncClient, make_app, url: str, code: str
    ) -> None:
        shop = await make_app()
        sinks = f"/v1/apps/{shop.id}/alert-sinks"
        error = error_of(
            await client.put(sinks, json=[{"type": "webhook", "url": url}], headers=shop.server_headers)
        )
        assert (error["code"], error["field"]) == (code, "0.url")
        assert (await client.get(sinks, headers=shop.server_headers)).json() == []

    async def test_public_https_webhooks_and_email_are_accepted(
        self, client: httpx.AsyncClient, make_app
    ) -> None:
        shop = await make_app()
        public = [{"type": "webhook", "url": "https://93.184.216.34/hook"}, SINKS[1]]
        saved = await client.put(f"/v1/apps/{shop.id}/alert-sinks", json=public, headers=shop.server_headers)
        assert saved.status_code == 200, saved.text
        assert saved.json() == public


async def test_rules_show_the_defaults_until_overridden(client: httpx.AsyncClient, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/alert-rules"
    shown = (await client.get(url, headers=shop.server_headers)).json()
    defaults = [rule.to_dict() for rule in DEFAULT_RULES]
    assert shown == {"rules": defaults, "defaults": defaults}
    assert [r["name"] for r in shown["rules"]] == DEFAULT_NAMES

    overrides = [
        {"name": "success_rate", "threshold": 0.95, "window_seconds": 60},
        {"name": "queue_lag", "enabled": False},
        {"name": "slow_queue", "kind": "queue_lag", "threshold": 30, "repeat_seconds": 300},
    ]
    saved = await client.put(url, json=overrides, headers=shop.server_headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["defaults"] == defaults
    rules = {rule["name"]: rule for rule in saved.json()["rules"]}
    assert set(rules) == {*DEFAULT_NAMES, "slow_queue"} - {"queue_lag"}
    assert rules["success_rate"] == {**defaults[0], "threshold": 0.95, "window_seconds": 60}
    assert (rules["slow_queue"]["kind"], rules["slow_queue"]["threshold"]) == ("queue_lag", 30)
    assert rules["slow_queue"]["repeat_seconds"] == 300
    assert (await client.get(url, headers=shop.server_headers)).json() == saved.json()

    reset = await client.put(url, json=[], headers=shop.server_headers)
    assert reset.json()["rules"] == defaults


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"name": "mystery", "threshold": 1}], "[0]"),
        ([{"name": "slow", "kind": "queue_lag"}], "[0]"),
        ([{"name": "success_rate", "window_seconds": 1}], "[0]"),
        ([{"name": "success_rate", "threshold": -0.5}], "[0]"),
        ([{"name": "success_rate", "threshold": "0.9"}], "[0]"),
        ([{"name": "success_rate", "threshold": True}], "[0]"),
        ([{"name": "queue_lag", "repeat_seconds": 0}], "[0]"),
        ([{"name": "queue_lag"}, {"name": "circuit_open", "enabled": "false"}], "[1]"),
        ([{"name": "success_rate", "min_attempts": 2.5}], "[0]"),
        ([{"name": "throttled_or_unavailable", "reasons": "Shutdown"}], "[0]"),
        ([{"name": "success_rate", "colour": "red"}], "[0]"),
    ],
)
async def test_invalid_rules_are_refused_and_nothing_is_saved(
    client: httpx.AsyncClient, make_app, rules: list[dict[str, object]], field: str
) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/alert-rules"
    before = (await client.get(url, headers=shop.server_headers)).json()
    error = error_of(await client.put(url, json=rules, headers=shop.server_headers))
    assert (error["code"], error["field"]) == ("invalid_rule", field)
    assert error["message"]
    assert (await client.get(url, headers=shop.server_headers)).json() == before


async def set_certificate(client: httpx.AsyncClient, shop: TenantApp, now: float, days: float) -> None:
    cert, key = certificate(now, days=days)
    body = {
        "certificate": cert,
        "certificate_key": key,
        "topic": "com.example.shop",
        "environment": "production",
    }
    saved = await client.put(f"/v1/apps/{shop.id}/providers/apns", json=body, headers=shop.server_headers)
    assert saved.status_code == 200, saved.text


async def check_and_evaluate(services: Services) -> None:
    """One round of the leader's monitoring loops."""
    await services.monitoring.check_credentials()
    await services.monitoring.evaluator.evaluate()


async def alerts(
    client: httpx.AsyncClient, shop: TenantApp, state: str | None = None
) -> list[dict[str, object]]:
    params = {"state": state} if state else {}
    response = await client.get(f"/v1/apps/{shop.id}/alerts", params=params, headers=shop.server_headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_alerts_list_firing_and_resolved_alerts(
    client: httpx.AsyncClient, make_app, services: Services
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    now = services.clock.now()
    await set_certificate(client, shop, now, days=5)  # the credentials rule fires inside 14 days
    await set_certificate(client, other, now, days=300)
    await check_and_evaluate(services)
    [firing] = await alerts(client, shop, "firing")
    assert (firing["rule"], firing["subject"], firing["state"]) == ("credentials", "apns", "firing")
    assert "expires in 5 days" in str(firing["summary"])
    assert firing["started_at"] == now
    assert firing["resolved_at"] is None
    assert await alerts(client, shop, "resolved") == []
    assert await alerts(client, other) == []

    services.clock.advance(60)
    await set_certificate(client, shop, services.clock.now(), days=300)
    await check_and_evaluate(services)
    assert await alerts(client, shop, "firing") == []
    [resolved] = await alerts(client, shop, "resolved")
    assert (resolved["id"], resolved["state"]) == (firing["id"], "resolved")
    assert resolved["resolved_at"] == now + 60
    assert [a["id"] for a in await alerts(client, shop)] == [firing["id"]]

    bad = await client.get(f"/v1/apps/{shop.id}/alerts?state=open", headers=shop.server_headers)
    assert (error_of(bad)["code"], error_of(bad)["field"]) == ("validation_error", "query.state")


ENDPOINTS = [
    ("GET", "alert-sinks", None),
    ("PUT", "alert-sinks", SINKS),
    ("GET", "alert-rules", None),
    ("PUT", "alert-rules", [{"name": "queue_lag", "threshold": 1}]),
    ("GET", "alerts", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_only_the_admin_and_the_apps_own_server_key_get_in(
    client: httpx.AsyncClient, make_app, admin_headers: dict[str, str], method: str, path: str, body: object
) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    url = f"/v1/apps/{shop.id}/{path}"
    foreign = await client.request(method, url, json=body, headers=other.server_headers)
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "not_found")
    client_key = await client.request(method, url, json=body, headers=shop.client_headers)
    assert (client_key.status_code, client_key.json()["error"]["code"]) == (403, "forbidden_scope")
    assert (await client.request(method, url, json=body)).status_code == 401
    assert (await client.request(method, url, json=body, headers=admin_headers)).status_code == 200
    missing = await client.request(method, "/v1/apps/app_missing/" + path, json=body, headers=admin_headers)
    assert missing.status_code == 404


async def test_another_apps_key_changes_nothing(client: httpx.AsyncClient, make_app) -> None:
    shop, other = await make_app("shop"), await make_app("other")
    await client.put(f"/v1/apps/{shop.id}/alert-sinks", json=SINKS[:1], headers=shop.server_headers)
    await client.put(f"/v1/apps/{shop.id}/alert-sinks", json=SINKS, headers=other.server_headers)
    await client.put(
        f"/v1/apps/{shop.id}/alert-rules",
        json=[{"name": "queue_lag", "enabled": False}],
        headers=other.server_headers,
    )
    assert (await client.get(f"/v1/apps/{shop.id}/alert-sinks", headers=shop.server_headers)).json() == SINKS[
        :1
    ]
    rules = (await client.get(f"/v1/apps/{shop.id}/alert-rules", headers=shop.server_headers)).json()["rules"]
    assert [r["name"] for r in rules] == DEFAULT_NAMES
    assert (await client.get(f"/v1/apps/{other.id}/alert-sinks", headers=other.server_headers)).json() == []

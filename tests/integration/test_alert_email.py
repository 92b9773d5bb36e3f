"""E-mail alert sinks deliver to the SMTP simulator: a firing message, its repeat, then the resolved one.

The server runs with an SMTP host in its settings; sinks and credentials go in
through the HTTP API, and the test runs the leader's monitoring steps itself on
the injected clock, as `test_monitoring_alerts.py` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pushwise.bootstrap import Services
from pushwise.settings import Settings
from pushwise.simulators.smtp import SmtpSimulatorHandle, start_smtp_simulator

from .monitoring_rig import never_leader
from .test_alert_api import check_and_evaluate, set_certificate

pytestmark = pytest.mark.integration
ONCALL = "oncall@example.com"
SENDER = "alerts@pushwise.example"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSimulatorHandle]:
    with start_smtp_simulator(seed=11) as sim:
        yield sim


@pytest.fixture
def settings(settings: Settings, smtp: SmtpSimulatorHandle) -> Settings:
    extra = {"smtp_host": smtp.host, "smtp_port": smtp.port, "alert_email_from": SENDER}
    return dataclasses.replace(settings, extra=extra)


@pytest.fixture(autouse=True)
def manual_evaluation(services: Services, smtp: SmtpSimulatorHandle) -> None:
    services.monitoring.is_leader = never_leader
    smtp.reset()


async def mail(smtp: SmtpSimulatorHandle) -> list[dict[str, Any]]:
    return await asyncio.to_thread(smtp.messages, ONCALL)


async def test_an_expiring_certificate_is_mailed_when_it_fires_repeats_and_resolves(
    client: httpx.AsyncClient, make_app, services: Services, smtp: SmtpSimulatorHandle
) -> None:
    shop = await make_app()
    sinks = [{"type": "email", "to": ONCALL}]
    saved = await client.put(f"/v1/apps/{shop.id}/alert-sinks", json=sinks, headers=shop.server_headers)
    assert saved.status_code == 200, saved.text
    await client.put(
        f"/v1/apps/{shop.id}/alert-rules",
        json=[{"name": "credentials", "repeat_seconds": 3600}],
        headers=shop.server_headers,
    )
    await set_certificate(client, shop, services.clock.now(), days=5)
    await check_and_evaluate(services)

    [firing] = await mail(smtp)
    assert firing["mail_from"] == SENDER
    assert firing["rcpt_tos"] == [ONCALL]
    subject = firing["subject"]
    assert subject.startswith(f"[pushwise firing] credentials for app {shop.id}: apns credentials")
    assert "expires in 5 days" in subject
    body = firing["text"]
    assert f"Alert credentials is FIRING for app {shop.id} (apns)." in body
    assert "expires in 5 days" in body
    assert "Threshold: 1209600.0" in body  # the default rule: 14 days
    assert ":rotating_light:" not in body  # Slack markup stays in the webhook's `text`

    services.clock.advance(1800)  # inside the repeat interval: no new mail
    await check_and_evaluate(services)
    assert len(await mail(smtp)) == 1
    services.clock.advance(1800)
    await check_and_evaluate(services)
    repeat = (await mail(smtp))[1]
    assert repeat["subject"].startswith(f"[pushwise firing] credentials for app {shop.id} (still firing):")

    services.clock.advance(60)
    await set_certificate(client, shop, services.clock.now(), days=300)
    await check_and_evaluate(services)
    resolved = (await mail(smtp))[2]
    assert resolved["subject"].startswith(f"[pushwise resolved] credentials for app {shop.id}:")
    assert "Alert credentials is RESOLVED" in resolved["text"]
    assert "Resolved: " in resolved["text"]
    assert len(await mail(smtp)) == 3


async def test_a_refused_mailbox_does_not_stop_the_other_sinks_or_the_alert_state(
    client: httpx.AsyncClient, make_app, services: Services, smtp: SmtpSimulatorHandle
) -> None:
    shop = await make_app()
    await smtp.aset_faults({"dead_mailboxes": [ONCALL]})
    sinks = [{"type": "email", "to": ONCALL}, {"type": "email", "to": "backup@example.com"}]
    await client.put(f"/v1/apps/{shop.id}/alert-sinks", json=sinks, headers=shop.server_headers)
    await set_certificate(client, shop, services.clock.now(), days=5)
    await check_and_evaluate(services)
    assert await mail(smtp) == []
    [backup] = await asyncio.to_thread(smtp.messages, "backup@example.com")
    assert backup["subject"].startswith("[pushwise firing] credentials")
    firing = await services.monitoring.alerts.events(app_id=shop.id, state="firing")
    assert [e.rule for e in firing] == ["credentials"]

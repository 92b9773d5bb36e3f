"""Alert webhooks connect only to public addresses, checked when the connection opens (DNS rebinding)."""

from __future__ import annotations

import logging

import pytest

from pushwise.monitoring.sinks import AlertMessage, AlertSinks, validate_sinks

from .monitoring_rig import webhook_receiver

pytestmark = pytest.mark.integration

MESSAGE = AlertMessage(
    alert="error_rate",
    state="firing",
    app_id="app-1",
    subject="apns",
    summary="errors above 5%",
    value=0.2,
    threshold=0.05,
    started_at=1_800_000_000.0,
    at=1_800_000_060.0,
)


class RebindingResolver:
    """Answers a public address first (when the sink is saved), then loopback (when it is used)."""

    def __init__(self) -> None:
        self.answers = [["93.184.216.34"], ["127.0.0.1"]]
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def test_a_sink_rebound_to_loopback_is_refused_at_send_time(caplog: pytest.LogCaptureFixture) -> None:
    resolve = RebindingResolver()
    async with webhook_receiver() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
        url = f"https://alerts.example.com:{port}/hook"
        await validate_sinks([{"type": "webhook", "url": url}], allow_private=False, resolve=resolve)
        sinks = AlertSinks(allow_private=False, smtp=None, resolve=resolve)
        with caplog.at_level(logging.WARNING, logger="pushwise.monitoring.sinks"):
            sent = await sinks.deliver([{"type": "webhook", "url": url}], [MESSAGE])
    assert sent == 0
    assert receiver.received == []
    assert resolve.asked == [("alerts.example.com", port)] * 2
    assert "non-public address" in caplog.text


async def test_allow_private_lets_a_loopback_sink_through() -> None:
    async with webhook_receiver() as receiver:
        sinks = AlertSinks(allow_private=True, smtp=None)
        sent = await sinks.deliver([{"type": "webhook", "url": receiver.url}], [MESSAGE])
    assert sent == 1
    assert [m["alert"] for m in receiver.received] == ["error_rate"]

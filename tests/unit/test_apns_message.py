from __future__ import annotations

import orjson
import pytest

from pushwise.domain.apns_message import (
    MAX_PAYLOAD_BYTES,
    MAX_VOIP_PAYLOAD_BYTES,
    PayloadTooLarge,
    apns_id_for,
    render,
    render_headers,
    render_payload,
)
from pushwise.domain.notification import ApnsOptions, Content, NotificationSpec


def _spec(**content: object) -> NotificationSpec:
    return NotificationSpec(content=Content(**content))  # type: ignore[arg-type]


def test_alert_payload_carries_title_body_sound_badge_and_custom_data() -> None:
    spec = NotificationSpec(
        content=Content(
            title="Hi",
            subtitle="there",
            body="News",
            sound="ping.caf",
            badge=3,
            data={"k": 1},
            url="https://example.test/a",
            image="https://example.test/i.png",
        ),
        category="news",
    )
    assert render_payload(spec) == {
        "k": 1,
        "url": "https://example.test/a",
        "image": "https://example.test/i.png",
        "aps": {
            "alert": {"title": "Hi", "subtitle": "there", "body": "News"},
            "sound": "ping.caf",
            "badge": 3,
            "mutable-content": 1,
            "thread-id": "news",
        },
    }


def test_background_push_is_content_available_only_with_priority_5() -> None:
    spec = NotificationSpec(content=Content(title="ignored"), apns=ApnsOptions(push_type="background"))
    assert render_payload(spec) == {"aps": {"content-available": 1}}
    headers = render_headers(spec, topic="com.example.app", expires_at=None, delivery_id=1)
    assert headers["apns-priority"] == "5"
    assert headers["apns-push-type"] == "background"


def test_custom_aps_keys_are_merged_over_the_rendered_ones() -> None:
    spec = NotificationSpec(
        content=Content(body="x"), apns=ApnsOptions(payload={"aps": {"sound": "a"}, "e": 2})
    )
    assert render_payload(spec) == {"e": 2, "aps": {"alert": {"body": "x"}, "sound": "a"}}


def test_headers_are_stable_per_delivery_and_lowercase_custom_headers() -> None:
    spec = NotificationSpec(
        content=Content(body="x"),
        collapse_key="score",
        apns=ApnsOptions(priority=1, headers={"APNS-Custom": "v"}),
    )
    headers = render_headers(spec, topic="com.example.app", expires_at=1_800_000_123.9, delivery_id=42)
    assert headers == {
        "apns-topic": "com.example.app",
        "apns-push-type": "alert",
        "apns-id": apns_id_for(42),
        "apns-expiration": "1800000123",
        "apns-priority": "1",
        "apns-collapse-id": "score",
        "apns-custom": "v",
    }
    assert apns_id_for(42) == apns_id_for(42) != apns_id_for(43)


def test_no_expiry_means_try_once() -> None:
    headers = render_headers(_spec(body="x"), topic="t", expires_at=None, delivery_id=1)
    assert (headers["apns-expiration"], headers["apns-priority"]) == ("0", "10")


@pytest.mark.parametrize(
    ("push_type", "topic"),
    [
        ("voip", "com.example.app.voip"),
        ("complication", "com.example.app.complication"),
        ("fileprovider", "com.example.app.pushkit.fileprovider"),
        ("liveactivity", "com.example.app.push-type.liveactivity"),
        ("pushtotalk", "com.example.app.voip-ptt"),
        ("alert", "com.example.app"),
    ],
)
def test_topic_gets_the_suffix_apple_requires(push_type: str, topic: str) -> None:
    spec = NotificationSpec(content=Content(body="x"), apns=ApnsOptions(push_type=push_type))
    assert (
        render_headers(spec, topic="com.example.app", expires_at=None, delivery_id=1)["apns-topic"] == topic
    )
    assert render_headers(spec, topic=topic, expires_at=None, delivery_id=1)["apns-topic"] == topic


def _sized(push_type: str, size: int) -> NotificationSpec:
    empty = len(
        orjson.dumps(
            render_payload(
                NotificationSpec(content=Content(data={"p": ""}), apns=ApnsOptions(push_type=push_type))
            )
        )
    )
    return NotificationSpec(
        content=Content(data={"p": "x" * (size - empty)}), apns=ApnsOptions(push_type=push_type)
    )


@pytest.mark.parametrize(
    ("push_type", "limit"), [("alert", MAX_PAYLOAD_BYTES), ("voip", MAX_VOIP_PAYLOAD_BYTES)]
)
def test_payload_limit_is_enforced_to_the_byte(push_type: str, limit: int) -> None:
    message = render(_sized(push_type, limit), topic="t", expires_at=None, delivery_id=1)
    assert len(message.payload) == limit
    with pytest.raises(PayloadTooLarge):
        render(_sized(push_type, limit + 1), topic="t", expires_at=None, delivery_id=1)


def test_fallback_content_replaces_the_main_content() -> None:
    spec = _spec(title="long", body="y" * 5000)
    message = render(spec, topic="t", expires_at=None, delivery_id=1, content=Content(body="short"))
    assert orjson.loads(message.payload) == {"aps": {"alert": {"body": "short"}}}

"""Rendering for Web Push: the service worker's JSON and the RFC 8030 headers, with their limits."""

from __future__ import annotations

import orjson
import pytest

from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.webpush_message import (
    DEFAULT_TTL_S,
    MAX_PAYLOAD_BYTES,
    InvalidWebPushMessage,
    is_valid_topic,
    render,
    render_headers,
    render_payload,
    topic_for_collapse_key,
)

NOW = 1_800_000_000.0


def test_payload_names_the_content_fields_and_merges_webpush_options() -> None:
    spec = NotificationSpec(
        content=Content(
            title="Sale", body="50% off", data={"sku": 7}, url="https://shop.example/s", badge=2, sound="x"
        ),
        webpush={"urgency": "low", "topic": "sale", "icon": "/i.png", "requireInteraction": True},
        collapse_key="sale-1",
    )
    assert render_payload(spec) == {
        "title": "Sale",
        "body": "50% off",
        "url": "https://shop.example/s",
        "badge": 2,
        "data": {"sku": 7},
        "tag": "sale-1",
        "icon": "/i.png",
        "requireInteraction": True,
    }


def test_fallback_content_replaces_the_main_content() -> None:
    spec = NotificationSpec(content=Content(title="long"))
    assert render_payload(spec, Content(title="short")) == {"title": "short"}


def test_headers_ttl_comes_from_the_remaining_time_until_expiry() -> None:
    spec = NotificationSpec(content=Content(title="t"))
    headers = render_headers(spec, expires_at=NOW + 90.5, now=NOW)
    assert headers == {
        "ttl": "91",
        "urgency": "normal",
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
    }
    assert render_headers(spec, expires_at=NOW - 5, now=NOW)["ttl"] == "0"


def test_ttl_without_expiry_uses_the_notification_ttl_or_the_default() -> None:
    assert (
        render_headers(NotificationSpec(Content(), ttl_seconds=60), expires_at=None, now=NOW)["ttl"] == "60"
    )
    assert render_headers(NotificationSpec(Content()), expires_at=None, now=NOW)["ttl"] == str(DEFAULT_TTL_S)


def test_urgency_follows_priority_unless_given() -> None:
    transactional = NotificationSpec(Content(), priority="transactional")
    assert render_headers(transactional, expires_at=None, now=NOW)["urgency"] == "high"
    explicit = NotificationSpec(Content(), webpush={"urgency": "very-low"})
    assert render_headers(explicit, expires_at=None, now=NOW)["urgency"] == "very-low"
    with pytest.raises(InvalidWebPushMessage) as invalid:
        render_headers(NotificationSpec(Content(), webpush={"urgency": "urgent"}), expires_at=None, now=NOW)
    assert invalid.value.reason == "InvalidUrgency"


def test_topic_is_validated_and_a_collapse_key_becomes_one() -> None:
    assert is_valid_topic("A" * 32)
    assert not is_valid_topic("A" * 33)
    assert not is_valid_topic("a b")
    with pytest.raises(InvalidWebPushMessage) as invalid:
        render_headers(NotificationSpec(Content(), webpush={"topic": "x" * 33}), expires_at=None, now=NOW)
    assert invalid.value.reason == "InvalidTopic"
    assert (
        render_headers(NotificationSpec(Content(), collapse_key="news"), expires_at=None, now=NOW)["topic"]
        == "news"
    )
    hashed = topic_for_collapse_key("order 42 shipped / tracking")
    assert is_valid_topic(hashed)
    assert len(hashed) == 32
    assert hashed == topic_for_collapse_key("order 42 shipped / tracking")


def test_payload_over_3993_bytes_is_refused_before_sending() -> None:
    def spec_with_body(size: int) -> NotificationSpec:
        overhead = len(orjson.dumps({"body": ""}))
        return NotificationSpec(Content(body="x" * (size - overhead)))

    assert len(render(spec_with_body(MAX_PAYLOAD_BYTES), expires_at=None, now=NOW).plaintext) == 3993
    with pytest.raises(InvalidWebPushMessage) as invalid:
        render(spec_with_body(MAX_PAYLOAD_BYTES + 1), expires_at=None, now=NOW)
    assert invalid.value.reason == "PayloadTooLarge"

"""Rendering a notification into an FCM v1 message, and the limits checked before sending."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.fcm_message import (
    MAX_PAYLOAD_BYTES,
    MAX_TTL_SECONDS,
    RESERVED_DATA_KEYS,
    FcmMessageRejected,
    PayloadTooLarge,
    addressed,
    payload_size,
    render_fcm,
    render_message,
    render_unaddressed,
)
from pushwise.domain.notification import Content, NotificationSpec

NOW = 1_800_000_000.0
TOKEN = "f" * 40


def rendered(spec: NotificationSpec, expires_at: float | None = None) -> dict[str, Any]:
    return orjson.loads(render_fcm(spec, TOKEN, now=NOW, expires_at=expires_at))["message"]


def test_content_becomes_notification_data_and_platform_blocks() -> None:
    spec = NotificationSpec(
        Content(
            title="Sale",
            body="50% off",
            image="https://img.example/x.png",
            sound="ping",
            badge=3,
            url="https://shop.example/sale",
            data={"order": "42"},
        ),
        priority="transactional",
        collapse_key="sale",
        category="marketing",
    )
    message = rendered(spec, expires_at=NOW + 3600)
    assert message["token"] == TOKEN
    assert message["notification"] == {
        "title": "Sale",
        "body": "50% off",
        "image": "https://img.example/x.png",
    }
    assert message["data"] == {"order": "42", "url": "https://shop.example/sale"}
    assert message["android"] == {
        "priority": "HIGH",
        "ttl": "3600s",
        "collapse_key": "sale",
        "notification": {"sound": "ping", "notification_count": 3},
    }
    assert message["apns"] == {
        "headers": {"apns-expiration": str(int(NOW + 3600)), "apns-collapse-id": "sale"},
        "payload": {"aps": {"sound": "ping", "badge": 3, "mutable-content": 1}},
    }
    assert message["webpush"] == {
        "headers": {"Urgency": "high", "TTL": "3600"},
        "fcm_options": {"link": "https://shop.example/sale"},
    }
    assert message["fcm_options"] == {"analytics_label": "marketing"}


def test_normal_priority_maps_to_normal() -> None:
    message = rendered(NotificationSpec(Content(title="t")))
    assert message["android"]["priority"] == "NORMAL"
    assert message["webpush"]["headers"]["Urgency"] == "normal"


def test_data_values_that_are_not_strings_travel_as_json_text() -> None:
    spec = NotificationSpec(
        Content(data={"count": 3, "flag": True, "none": None, "obj": {"a": [1, 2]}, "s": "x"})
    )
    assert rendered(spec)["data"] == {
        "count": "3",
        "flag": "true",
        "none": "null",
        "obj": '{"a":[1,2]}',
        "s": "x",
    }


def test_fcm_overrides_refine_blocks_and_cannot_retarget() -> None:
    spec = NotificationSpec(
        Content(title="t", data={"a": "1"}),
        fcm={
            "android": {"notification": {"click_action": "OPEN_ORDER"}, "priority": "HIGH"},
            "data": {"b": 2},
            "token": "someone-else",
            "topic": "all",
        },
    )
    message = rendered(spec)
    assert message["token"] == TOKEN
    assert "topic" not in message
    assert message["android"]["priority"] == "HIGH"
    assert message["android"]["notification"] == {"click_action": "OPEN_ORDER"}
    assert message["data"] == {"a": "1", "b": "2"}


def test_ttl_is_the_time_left_until_expiry_clamped_to_fcm_range() -> None:
    assert rendered(NotificationSpec(Content(title="t")), expires_at=NOW + 10.2)["android"]["ttl"] == "11s"
    assert rendered(NotificationSpec(Content(title="t")), expires_at=NOW - 5)["android"]["ttl"] == "0s"
    far = rendered(NotificationSpec(Content(title="t")), expires_at=NOW + 10 * MAX_TTL_SECONDS)
    assert far["android"]["ttl"] == f"{MAX_TTL_SECONDS}s"


def test_spec_ttl_is_used_without_expiry_and_omitted_when_absent() -> None:
    assert rendered(NotificationSpec(Content(title="t"), ttl_seconds=60))["android"]["ttl"] == "60s"
    assert "ttl" not in rendered(NotificationSpec(Content(title="t")))["android"]


@pytest.mark.parametrize("ttl", [-1, MAX_TTL_SECONDS + 1])
def test_ttl_outside_fcm_range_is_refused(ttl: int) -> None:
    with pytest.raises(FcmMessageRejected) as refused:
        render_fcm(NotificationSpec(Content(title="t"), ttl_seconds=ttl), TOKEN, now=NOW, expires_at=None)
    assert refused.value.reason == "InvalidTtl"


@pytest.mark.parametrize("key", ["from", "message_type", "google.sent_time", "gcm.notification"])
def test_reserved_data_keys_are_refused(key: str) -> None:
    with pytest.raises(FcmMessageRejected) as refused:
        render_fcm(NotificationSpec(Content(data={key: "x"})), TOKEN, now=NOW, expires_at=None)
    assert refused.value.reason == "InvalidDataKey"


def test_payload_size_counts_the_message_without_its_token() -> None:
    message = render_message(NotificationSpec(Content(title="t")), ttl_seconds=None, expires_at=None)
    body = render_fcm(NotificationSpec(Content(title="t")), TOKEN, now=NOW, expires_at=None)
    assert payload_size(message) == len(orjson.dumps(message))
    assert payload_size({**message, "token": TOKEN}) == payload_size(message)
    assert len(body) > payload_size(message)


def test_payload_at_the_limit_passes_and_one_byte_more_is_too_large() -> None:
    def spec_with(body_length: int) -> NotificationSpec:
        return NotificationSpec(Content(body="x" * body_length))

    one_byte_body = payload_size(render_message(spec_with(1), ttl_seconds=None, expires_at=None))
    fits = MAX_PAYLOAD_BYTES - one_byte_body + 1
    render_fcm(spec_with(fits), TOKEN, now=NOW, expires_at=None)
    with pytest.raises(PayloadTooLarge) as refused:
        render_fcm(spec_with(fits + 1), TOKEN, now=NOW, expires_at=None)
    assert (refused.value.reason, refused.value.size) == ("PayloadTooLarge", MAX_PAYLOAD_BYTES + 1)


def test_fallback_content_replaces_the_spec_content() -> None:
    spec = NotificationSpec(Content(title="long"))
    body = render_fcm(spec, TOKEN, now=NOW, expires_at=None, content=Content(title="short"))
    assert orjson.loads(body)["message"]["notification"] == {"title": "short"}


_DATA_KEYS = st.text(min_size=1, max_size=8).filter(
    lambda k: k not in RESERVED_DATA_KEYS and not k.lower().startswith(("google", "gcm"))
)
_DATA = st.dictionaries(_DATA_KEYS, st.text(max_size=20), max_size=3)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    title=st.text(max_size=40),
    body=st.text(max_size=80),
    data=_DATA,
    token=st.text(max_size=60),
    ttl=st.none() | st.integers(0, MAX_TTL_SECONDS),
)
def test_the_spliced_body_is_the_whole_message_encoded(
    title: str, body: str, data: dict[str, str], token: str, ttl: int | None
) -> None:
    spec = NotificationSpec(Content(title=title, body=body, data=data), ttl_seconds=ttl)
    message = render_message(spec, ttl_seconds=ttl, expires_at=None)
    whole = orjson.dumps({"message": {"token": token, **message}})
    assert addressed(render_unaddressed(spec, ttl_seconds=ttl, expires_at=None), token) == whole


def test_an_empty_message_still_splices_into_valid_json() -> None:
    assert orjson.loads(addressed(b"{}", "t")) == {"message": {"token": "t"}}

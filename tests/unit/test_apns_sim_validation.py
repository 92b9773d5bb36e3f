"""Apple's request checks as the APNs simulator applies them (pure functions)."""

from __future__ import annotations

import orjson
import pytest

from pushwise.simulators.apns.validation import (
    TopicRule,
    device_token,
    header_problem,
    payload_problem,
    request_problem,
    token_problem,
)

RULE = TopicRule("com.example.shop")
TOKEN = "ab" * 32
GOOD_HEADERS = {
    "apns-topic": "com.example.shop",
    "apns-push-type": "alert",
    "apns-priority": "10",
    "apns-expiration": "0",
    "apns-collapse-id": "order-17",
    "apns-id": "123e4567-e89b-12d3-a456-426614174000",
}


def _problem(**changes: str | None) -> str | None:
    headers = {**GOOD_HEADERS, **changes}
    present = {k: v for k, v in headers.items() if v is not None}
    return header_problem(present.get, RULE)


def test_a_well_formed_request_has_no_problem() -> None:
    assert request_problem(GOOD_HEADERS.get, TOKEN, b'{"aps":{"alert":"hi"}}', RULE) is None


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("apns-topic", None, "MissingTopic"),
        ("apns-topic", "com.other.app", "TopicDisallowed"),
        ("apns-topic", "com.example.shopping", "TopicDisallowed"),
        ("apns-topic", "com.example.shop.unknown", "BadTopic"),
        ("apns-push-type", "banner", "InvalidPushType"),
        ("apns-priority", "7", "BadPriority"),
        ("apns-priority", "high", "BadPriority"),
        ("apns-expiration", "tomorrow", "BadExpirationDate"),
        ("apns-expiration", "1.5", "BadExpirationDate"),
        ("apns-collapse-id", "x" * 65, "BadCollapseId"),
        ("apns-id", "not-a-uuid", "BadMessageId"),
        ("apns-id", "{123e4567-e89b-12d3-a456-426614174000}", "BadMessageId"),
    ],
)
def test_each_bad_header_earns_apples_reason(header: str, value: str | None, reason: str) -> None:
    assert _problem(**{header: value}) == reason


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("apns-topic", "com.example.shop.voip"),
        ("apns-topic", "com.example.shop.push-type.liveactivity"),
        ("apns-priority", "1"),
        ("apns-priority", "5"),
        ("apns-expiration", "1800000000"),
        ("apns-collapse-id", "x" * 64),
        ("apns-push-type", None),
        ("apns-id", None),
    ],
)
def test_acceptable_header_values(header: str, value: str | None) -> None:
    assert _problem(**{header: value}) is None


def test_topic_is_optional_with_certificate_auth() -> None:
    assert TopicRule("com.example.shop", topic_required=False).problem(None) is None


@pytest.mark.parametrize(
    ("token", "reason"),
    [(TOKEN, None), ("", "MissingDeviceToken"), ("abc", "BadDeviceToken"), ("zz" * 32, "BadDeviceToken")],
)
def test_device_token_must_be_hex(token: str, reason: str | None) -> None:
    assert token_problem(token) == reason


@pytest.mark.parametrize(
    ("path", "token"),
    [("/3/device/abcd", "abcd"), ("/3/device/", ""), ("/3/devices/abcd", None), ("/3/device/ab/cd", None)],
)
def test_device_path(path: str, token: str | None) -> None:
    assert device_token(path) == token


def _payload_of_size(size: int) -> bytes:
    skeleton = orjson.dumps({"aps": {"alert": ""}})
    return orjson.dumps({"aps": {"alert": "x" * (size - len(skeleton))}})


@pytest.mark.parametrize(
    ("body", "push_type", "reason"),
    [
        (b"", None, "PayloadEmpty"),
        (b"not json", None, "PayloadEmpty"),
        (b"[1, 2]", None, "PayloadEmpty"),
        (b'{"alert": "no aps"}', None, "PayloadEmpty"),
        (b'{"aps": "not a dict"}', None, "PayloadEmpty"),
        (_payload_of_size(4096), None, None),
        (_payload_of_size(4097), "alert", "PayloadTooLarge"),
        (_payload_of_size(5120), "voip", None),
        (_payload_of_size(5121), "voip", "PayloadTooLarge"),
    ],
)
def test_payload_checks(body: bytes, push_type: str | None, reason: str | None) -> None:
    assert payload_problem(body, push_type) == reason


def test_headers_are_checked_before_the_token_and_the_token_before_the_payload() -> None:
    bad_topic = {**GOOD_HEADERS, "apns-topic": "com.other.app"}
    assert request_problem(bad_topic.get, "zz", b"", RULE) == "TopicDisallowed"
    assert request_problem(GOOD_HEADERS.get, "zz", b"", RULE) == "BadDeviceToken"

"""FCM's checks on one `messages:send` body, as a pure function.

Every problem is an INVALID_ARGUMENT, as FCM answers them; a malformed
registration token additionally carries a field violation on `message.token`,
which is how senders tell a dead token from a bad message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from pushwise.domain.device_tokens import TokenRejected, fcm_token
from pushwise.domain.fcm_message import (
    MAX_PAYLOAD_BYTES,
    MAX_TTL_SECONDS,
    RESERVED_DATA_KEYS,
    RESERVED_DATA_PREFIXES,
    payload_size,
)

MESSAGE_FIELDS = frozenset(
    {
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "topic",
        "condition",
    }
)
_DURATION = re.compile(r"(\d+)(\.\d{1,9})?s")
_ANDROID_PRIORITIES = frozenset({"HIGH", "NORMAL"})


@dataclass(frozen=True, slots=True)
class Rejection:
    message: str
    violations: dict[str, str] | None = None  # field -> description


@dataclass(frozen=True, slots=True)
class CheckedMessage:
    token: str
    rejection: Rejection | None


def check_send_body(body: bytes) -> CheckedMessage:
    """The target token (empty when there is none) and what is wrong with the message, if anything."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return CheckedMessage("", Rejection("Invalid JSON payload received."))
    message = parsed.get("message") if isinstance(parsed, dict) else None
    if not isinstance(message, dict):
        return CheckedMessage(
            "", Rejection("Invalid JSON payload received. Unknown name or missing 'message'.")
        )
    token = message.get("token")
    token = token if isinstance(token, str) else ""
    return CheckedMessage(token, _message_problem(message, token))


def _message_problem(message: dict[str, Any], token: str) -> Rejection | None:
    unknown = sorted(set(message) - MESSAGE_FIELDS)
    if unknown:
        return Rejection(f"Invalid JSON payload received. Unknown name \"{unknown[0]}\" at 'message'.")
    if not token:
        return Rejection("Recipient of the message is not set.")
    try:
        fcm_token(token)
    except TokenRejected:
        return Rejection(
            "The registration token is not a valid FCM registration token",
            {"message.token": "Invalid registration token"},
        )
    return (
        _data_problem(message.get("data"))
        or _android_problem(message.get("android"))
        or _size_problem(message)
    )


def _data_problem(data: Any) -> Rejection | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        return Rejection("Invalid value at 'message.data' (type.googleapis.com/google.protobuf.Struct).")
    for key, value in data.items():
        if not isinstance(value, str):
            return Rejection(
                f"Invalid value at 'message.data[{key}].value' (TYPE_STRING)",
                {f"message.data[{key}].value": "Invalid value (TYPE_STRING)"},
            )
        if key in RESERVED_DATA_KEYS or key.lower().startswith(RESERVED_DATA_PREFIXES):
            return Rejection(f"Invalid data payload key: {key}", {"message.data": f"reserved key {key}"})
    return None


def _android_problem(android: Any) -> Rejection | None:
    if android is None:
        return None
    if not isinstance(android, dict):
        return Rejection("Invalid value at 'message.android'.")
    ttl = android.get("ttl")
    if ttl is not None:
        match = _DURATION.fullmatch(ttl) if isinstance(ttl, str) else None
        if match is None:
            return Rejection(
                "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)",
                {"message.android.ttl": "Illegal duration format"},
            )
        if int(match.group(1)) > MAX_TTL_SECONDS:
            return Rejection("TTL must be at most 4 weeks", {"message.android.ttl": "TTL exceeds 2419200s"})
    priority = android.get("priority")
    if priority is not None and priority not in _ANDROID_PRIORITIES:
        return Rejection(
            f"Invalid value at 'message.android.priority' ({priority!r})",
            {"message.android.priority": "Invalid enum value"},
        )
    return None


def _size_problem(message: dict[str, Any]) -> Rejection | None:
    size = payload_size(message)
    if size > MAX_PAYLOAD_BYTES:
        return Rejection(f"Message is too big: {size} bytes, the limit is {MAX_PAYLOAD_BYTES}.")
    return None

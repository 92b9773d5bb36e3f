"""Apple's checks on one `POST /3/device/{token}` request, as a pure function.

The order follows what a provider sees from APNs: header problems first, then
the device token, then the payload. Where Apple documents no reason of its own
(a body that is not a JSON object with an `aps` dictionary) we answer
`PayloadEmpty`: the notification carries nothing APNs could show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from pushwise.domain.apns_message import MAX_COLLAPSE_ID_BYTES, PUSH_TYPES, payload_limit

DEVICE_PATH_PREFIX = "/3/device/"
_PRIORITIES = frozenset({"1", "5", "10"})
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# Apple wants the canonical 8-4-4-4-12 form (uuid.UUID would also accept braces and urn: prefixes).
_UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Apple accepts the bundle id itself or one of these push-type specific suffixes.
TOPIC_SUFFIXES = (".voip", ".complication", ".pushkit.fileprovider", ".push-type.liveactivity", ".voip-ptt")

HeaderGetter = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class TopicRule:
    """Which `apns-topic` values this simulated app accepts."""

    bundle_id: str
    topic_required: bool = True  # token auth: always; certificate auth: the certificate names the topic

    def problem(self, topic: str | None) -> str | None:
        if topic is None:
            return "MissingTopic" if self.topic_required else None
        if topic == self.bundle_id:
            return None
        if not topic.startswith(self.bundle_id + "."):
            return "TopicDisallowed"
        return None if topic[len(self.bundle_id) :] in TOPIC_SUFFIXES else "BadTopic"


def device_token(path: str) -> str | None:
    """The token part of a device path, or None when the path is not one."""
    if not path.startswith(DEVICE_PATH_PREFIX):
        return None
    token = path[len(DEVICE_PATH_PREFIX) :]
    return None if "/" in token else token


def token_problem(token: str) -> str | None:
    if not token:
        return "MissingDeviceToken"
    if len(token) % 2 or not _HEX_DIGITS.issuperset(token):
        return "BadDeviceToken"
    return None


def header_problem(get: HeaderGetter, rule: TopicRule) -> str | None:
    topic_problem = rule.problem(get("apns-topic"))
    if topic_problem:
        return topic_problem
    push_type = get("apns-push-type")
    if push_type is not None and push_type not in PUSH_TYPES:
        return "InvalidPushType"
    priority = get("apns-priority")
    if priority is not None and priority not in _PRIORITIES:
        return "BadPriority"
    expiration = get("apns-expiration")
    if expiration is not None and not _is_integer(expiration):
        return "BadExpirationDate"
    collapse_id = get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode()) > MAX_COLLAPSE_ID_BYTES:
        return "BadCollapseId"
    apns_id = get("apns-id")
    if apns_id is not None and not _is_uuid(apns_id):
        return "BadMessageId"
    return None


def payload_problem(body: bytes, push_type: str | None) -> str | None:
    if not body:
        return "PayloadEmpty"
    if len(body) > payload_limit(push_type or "alert"):
        return "PayloadTooLarge"
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "PayloadEmpty"
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        return "PayloadEmpty"
    return None


def request_problem(get: HeaderGetter, token: str, body: bytes, rule: TopicRule) -> str | None:
    """The reason APNs would reject this request for, or None when it is acceptable."""
    return header_problem(get, rule) or token_problem(token) or payload_problem(body, get("apns-push-type"))


def _is_integer(value: str) -> bool:
    digits = value[1:] if value[:1] == "-" else value
    return digits.isascii() and digits.isdigit()


def _is_uuid(value: str) -> bool:
    return _UUID_FORM.fullmatch(value) is not None

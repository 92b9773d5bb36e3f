"""The vendors' delivery receipts, read into one shape, and the token in their address.

Each vendor posts receipts to an address the app configures (Huawei and Honor in
their consoles; Xiaomi, OPPO and vivo per message, which pushwise sets). pushwise
gives every app and vendor its own address, `/v1/vendor-receipts/{vendor}/{app_id}?token=`,
where the token is an HMAC of both: no one can post receipts for another app.

Formats (docs/china.md lists their sources and what is unverified):
- Huawei / Honor: `{"statuses": [{"biTag", "token", "status", "timestamp", ...}]}`;
  status 0 delivered, 2 app not installed and 10 device inactive 30 days (token dead),
  6 notifications off (permission changed).
- Xiaomi: `data` (JSON, also as a form field): `{msgId: {"param", "type", "targets", "barStatus"}}`;
  type 1 delivered, 2 clicked, 16 invalid target (token dead); `barStatus: "Disable"`
  means notifications are off.
- OPPO: a list of `{"param", "eventType", "registrationIds"}`; `push_arrive` delivered,
  `regid_invalid` token dead (event names unverified: others are ignored).
- vivo: `{taskId: {"param", "targets"}}`: delivered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from pushwise.domain.signed_tokens import derive_key


class ReceiptKind(StrEnum):
    DELIVERED = "delivered"
    CLICKED = "clicked"
    TOKEN_DEAD = "token_dead"  # noqa: S105 - a kind, not a secret
    PERMISSION_OFF = "permission_off"


@dataclass(frozen=True, slots=True)
class VendorReceipt:
    token: str
    kind: ReceiptKind
    notification_id: str | None  # what pushwise put in biTag / callback.param
    code: str  # the vendor's own status or type, for the device's deactivated_reason


def receipt_token(secret_key: bytes, vendor: str, app_id: str) -> str:
    mac = hmac.new(derive_key(secret_key, "vendor-receipts"), f"{vendor}:{app_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def receipt_token_valid(secret_key: bytes, vendor: str, app_id: str, token: str) -> bool:
    return hmac.compare_digest(receipt_token(secret_key, vendor, app_id), token)


_HUAWEI_STATUS = {
    0: ReceiptKind.DELIVERED,
    2: ReceiptKind.TOKEN_DEAD,
    10: ReceiptKind.TOKEN_DEAD,
    6: ReceiptKind.PERMISSION_OFF,
}
_XIAOMI_TYPE = {1: ReceiptKind.DELIVERED, 2: ReceiptKind.CLICKED, 16: ReceiptKind.TOKEN_DEAD}
_OPPO_EVENT = {"push_arrive": ReceiptKind.DELIVERED, "regid_invalid": ReceiptKind.TOKEN_DEAD}


def parse_receipts(vendor: str, body: Any) -> list[VendorReceipt]:
    """What a vendor's receipt post says, token by token; parts that cannot be read are skipped."""
    if vendor in ("huawei", "honor"):
        return _statuses(body)
    if vendor == "xiaomi":
        return _xiaomi(body)
    if vendor == "oppo":
        return _oppo(body)
    if vendor == "vivo":
        return _vivo(body)
    return []


def _statuses(body: Any) -> list[VendorReceipt]:
    statuses = body.get("statuses") if isinstance(body, Mapping) else None
    found = []
    for item in statuses if isinstance(statuses, list) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("token"), str):
            continue
        kind = _HUAWEI_STATUS.get(item.get("status"))  # type: ignore[arg-type]
        if kind is not None:
            found.append(
                VendorReceipt(item["token"], kind, _text(item.get("biTag")), f"status={item.get('status')}")
            )
    return found


def _xiaomi(body: Any) -> list[VendorReceipt]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, str):
        data = _json(data)
    found = []
    for entry in data.values() if isinstance(data, Mapping) else []:
        if not isinstance(entry, Mapping):
            continue
        kind = _XIAOMI_TYPE.get(_int(entry.get("type")))  # type: ignore[arg-type]
        if entry.get("barStatus") == "Disable":
            kind = ReceiptKind.PERMISSION_OFF
        for token in _targets(entry.get("targets")):
            if kind is not None:
                found.append(
                    VendorReceipt(token, kind, _text(entry.get("param")), f"type={entry.get('type')}")
                )
    return found


def _oppo(body: Any) -> list[VendorReceipt]:
    found = []
    for entry in body if isinstance(body, list) else []:
        if not isinstance(entry, Mapping):
            continue
        kind = _OPPO_EVENT.get(str(entry.get("eventType")))
        for token in _targets(entry.get("registrationIds")):
            if kind is not None:
                found.append(
                    VendorReceipt(token, kind, _text(entry.get("param")), str(entry.get("eventType")))
                )
    return found


def _vivo(body: Any) -> list[VendorReceipt]:
    found = []
    for entry in body.values() if isinstance(body, Mapping) else []:
        if isinstance(entry, Mapping):
            for token in _targets(entry.get("targets")):
                found.append(
                    VendorReceipt(token, ReceiptKind.DELIVERED, _text(entry.get("param")), "delivered")
                )
    return found


def _targets(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(t) for t in raw if t]
    return [t for t in str(raw or "").split(",") if t]


def _json(raw: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _text(raw: Any) -> str | None:
    return str(raw) if raw not in (None, "") else None

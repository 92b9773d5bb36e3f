"""`POST /v1/vendor-receipts/{vendor}/{app_id}?token=...`: where the phone makers post receipts.

Vendors cannot present an API key, so the address carries its own proof: `token` is
an HMAC of vendor and app under the server's secret key (`receipt_url` in the answer
of `PUT /v1/apps/{app_id}/providers/{vendor}`). A wrong token or an unknown vendor is a
404, revealing nothing. Bodies are JSON, or a form whose `data` field holds JSON (Xiaomi).
Dead tokens deactivate their device, notifications turned off take the device out for
`PermissionDenied`, and the user events `delivered`, `clicked` and `permission_changed`
go to the user-event log, where profiles learn from them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request

from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.domain.china.receipts import ReceiptKind, parse_receipts, receipt_token_valid
from pushwise.domain.china.vendors import VENDORS
from pushwise.store.user_events import EventRefused, NewEvent
from pushwise.store.vendor_receipts import AppliedReceipt, VendorReceiptRepository

router = APIRouter(tags=["vendor receipts"])

_EVENT_OF_KIND = {
    ReceiptKind.DELIVERED: "delivered",
    ReceiptKind.CLICKED: "clicked",
    ReceiptKind.PERMISSION_OFF: "permission_changed",
}


@router.post("/v1/vendor-receipts/{vendor}/{app_id}")
async def post_vendor_receipts(
    vendor: str, app_id: str, token: str, request: Request, services: ServicesDep, stores: StoresDep
) -> dict[str, Any]:
    if vendor not in VENDORS or not receipt_token_valid(services.secret_key, vendor, app_id, token):
        raise not_found("receipt address")
    receipts = parse_receipts(vendor, _body(await request.body(), request.headers.get("content-type", "")))
    now = services.clock.now()
    applied = await VendorReceiptRepository(services.db).apply(app_id, vendor, receipts, now)
    events = [_event(index, vendor, item, now) for index, item in enumerate(applied) if item.user is not None]
    wanted = [event for event in events if event is not None]
    if wanted:
        try:
            await stores.user_events.ingest(app_id, wanted, now)
        except EventRefused as refused:  # a receipt naming another app's delivery: keep the device changes
            raise ApiError(422, refused.code, refused.message, refused.field) from refused
    return {"received": len(receipts), "applied": len(applied)}


def _body(raw: bytes, content_type: str) -> Any:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(raw.decode(errors="replace")).items()}
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", "the receipt body is not JSON") from error


def _event(index: int, vendor: str, item: AppliedReceipt, now: float) -> NewEvent | None:
    kind = _EVENT_OF_KIND.get(item.receipt.kind)
    if kind is None or item.user is None:
        return None
    subject = item.delivery_id if item.delivery_id is not None else item.device_id
    properties: dict[str, Any] = {"vendor": vendor, "device_id": item.device_id, "code": item.receipt.code}
    if kind == "permission_changed":
        properties["push_permission"] = "denied"
    return NewEvent(
        index=index,
        key=f"{vendor}-receipt:{subject}:{kind}"[:128],
        type=kind,
        user=item.user,
        at=now,
        notification_id=item.notification_id,
        delivery_id=item.delivery_id,
        properties=properties,
    )

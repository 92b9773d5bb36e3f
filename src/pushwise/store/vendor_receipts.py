"""Applying a vendor's delivery receipts: dead tokens, notifications turned off, delivered pushes.

One transaction per receipt post: the app's devices on that vendor are found by token
in one read; dead ones are deactivated with the vendor's words (`huawei:receipt:status=2`),
ones whose notifications were turned off are taken out for `PermissionDenied`, and a
delivered or clicked receipt is added to its delivery's trail. What it learned is
returned so the caller can post the user events (`delivered`, `clicked`,
`permission_changed`) to the user-event log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from pushwise.domain.china.receipts import ReceiptKind, VendorReceipt
from pushwise.domain.push_permission import PERMISSION_DENIED
from pushwise.store.db import Database
from pushwise.store.events import DeliveryEvent, event_rows
from pushwise.store.schema import deliveries, delivery_events, devices, users


@dataclass(frozen=True, slots=True)
class AppliedReceipt:
    receipt: VendorReceipt
    device_id: str
    user: str | None  # the app's external user id
    delivery_id: int | None
    notification_id: str | None


class VendorReceiptRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply(
        self, app_id: str, vendor: str, receipts: Sequence[VendorReceipt], now: float
    ) -> list[AppliedReceipt]:
        if not receipts:
            return []
        async with self._db.writing() as conn:
            known = await _devices(conn, app_id, vendor, {r.token for r in receipts})
            found = await _deliveries(conn, app_id, receipts, known)
            applied = []
            for receipt in receipts:
                device = known.get(receipt.token)
                if device is None:
                    continue
                delivery_id, notification_id = found.get((receipt.notification_id, device[0]), (None, None))
                applied.append(AppliedReceipt(receipt, device[0], device[1], delivery_id, notification_id))
            await _turn_off(conn, vendor, applied, now)
            trail = [
                DeliveryEvent(
                    a.notification_id,
                    app_id,
                    a.delivery_id,
                    "vendor_receipt",
                    now,
                    {"kind": a.receipt.kind.value, "code": a.receipt.code},
                )
                for a in applied
                if a.delivery_id is not None and a.notification_id is not None
            ]
            if trail:
                await conn.execute(insert(delivery_events), event_rows(trail))
        return applied


async def _devices(
    conn: AsyncConnection, app_id: str, vendor: str, tokens: set[str]
) -> dict[str, tuple[str, str | None]]:
    rows = await conn.execute(
        select(devices.c.token, devices.c.id, users.c.external_id)
        .select_from(devices.outerjoin(users, users.c.id == devices.c.user_id))
        .where(devices.c.app_id == app_id, devices.c.vendor == vendor, devices.c.token.in_(sorted(tokens)))
    )
    return {row.token: (row.id, row.external_id) for row in rows}


async def _deliveries(
    conn: AsyncConnection,
    app_id: str,
    receipts: Sequence[VendorReceipt],
    known: dict[str, tuple[str, str | None]],
) -> dict[tuple[str | None, str], tuple[int, str]]:
    """The delivery each receipt is about: (notification named by the vendor, device)."""
    pairs = {
        (r.notification_id, known[r.token][0]) for r in receipts if r.notification_id and r.token in known
    }
    if not pairs:
        return {}
    rows = await conn.execute(
        select(deliveries.c.id, deliveries.c.notification_id, deliveries.c.device_id).where(
            deliveries.c.app_id == app_id,
            deliveries.c.notification_id.in_(sorted({n for n, _ in pairs if n})),
            deliveries.c.device_id.in_(sorted({d for _, d in pairs})),
        )
    )
    return {(row.notification_id, row.device_id): (row.id, row.notification_id) for row in rows}


async def _turn_off(
    conn: AsyncConnection, vendor: str, applied: Sequence[AppliedReceipt], now: float
) -> None:
    """Dead tokens keep the vendor's words; notifications turned off are a denied permission."""
    for item in applied:
        if item.receipt.kind is ReceiptKind.TOKEN_DEAD:
            reason = f"{vendor}:receipt:{item.receipt.code}"[:64]
        elif item.receipt.kind is ReceiptKind.PERMISSION_OFF:
            reason = PERMISSION_DENIED
        else:
            continue
        await conn.execute(
            update(devices)
            .where(and_(devices.c.id == item.device_id, devices.c.active))
            .values(active=False, deactivated_reason=reason, deactivated_at=now, updated_at=now)
        )

"""Marketing pushes each vendor accepted, and its "quota spent" answers, per app and vendor day.

Written by every process (upsert-increment, like the metric rollups), read by the
dashboard's quota chart together with how many devices each vendor reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from pushwise.store.db import Database
from pushwise.store.schema import devices, vendor_quota_use
from pushwise.store.upsert import upsert_into


@dataclass(frozen=True, slots=True)
class QuotaUse:
    vendor: str
    day: str  # YYYY-MM-DD in Asia/Shanghai
    marketing: int
    quota_spent: int


class VendorQuotaUse:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, counts: Mapping[tuple[str, str, str], tuple[int, int]]) -> None:
        """Add (marketing, quota spent) per (app, vendor, day)."""
        if not counts:
            return
        statement = upsert_into(self._db, vendor_quota_use)
        statement = statement.on_conflict_do_update(
            index_elements=["app_id", "vendor", "day"],
            set_={
                "marketing": vendor_quota_use.c.marketing + statement.excluded.marketing,
                "quota_spent": vendor_quota_use.c.quota_spent + statement.excluded.quota_spent,
            },
        )
        rows = [
            {"app_id": app, "vendor": vendor, "day": day, "marketing": used, "quota_spent": spent}
            for (app, vendor, day), (used, spent) in sorted(counts.items())
        ]
        async with self._db.writing() as conn:
            await conn.execute(statement, rows)

    async def since(self, app_id: str, first_day: str) -> list[QuotaUse]:
        table = vendor_quota_use
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(table.c.vendor, table.c.day, table.c.marketing, table.c.quota_spent)
                .where(table.c.app_id == app_id, table.c.day >= first_day)
                .order_by(table.c.vendor, table.c.day)
            )
            return [QuotaUse(r.vendor, r.day, int(r.marketing), int(r.quota_spent)) for r in rows]

    async def reach(self, app_id: str) -> dict[str, int]:
        """Active devices per vendor: what the per-device daily caps add up to."""
        async with self._db.read.connect() as conn:
            rows = await conn.execute(
                select(devices.c.vendor, func.count())
                .where(devices.c.app_id == app_id, devices.c.active, devices.c.vendor.is_not(None))
                .group_by(devices.c.vendor)
            )
            return {str(vendor): int(count) for vendor, count in rows}

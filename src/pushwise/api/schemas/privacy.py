"""Shapes of a user's data export and erase (API.md, Audience: privacy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import at, when
from pushwise.api.schemas.users import UserProfileOut


class UserDataOut(BaseModel):
    external_id: str
    exported_at: datetime
    profile: UserProfileOut = Field(description="As `GET /v1/users/{external_id}`: devices, preferences too.")
    events: list[dict[str, Any]] = Field(
        description="What the app reported the user did (`POST /v1/events`)."
    )
    deliveries: list[dict[str, Any]] = Field(description="Every delivery to the user or their devices.")
    inbox: list[dict[str, Any]] = Field(description="In-app messages, read, unread and deleted.")
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Every stored row keyed to the user, by table, as stored (times in Unix seconds)."
    )

    @classmethod
    def of(
        cls, external_id: str, now: float, profile: UserProfileOut, tables: dict[str, list[dict[str, Any]]]
    ) -> UserDataOut:
        return cls(
            external_id=external_id,
            exported_at=at(now),
            profile=profile,
            events=[_event(row) for row in tables.get("user_events", [])],
            deliveries=[_delivery(row) for row in tables.get("deliveries", [])],
            inbox=[_inbox_item(row) for row in tables.get("inbox_items", [])],
            tables=tables,
        )


class ErasedOut(BaseModel):
    external_id: str
    erased_at: datetime
    deleted: dict[str, int] = Field(description="Rows deleted per table.")
    anonymised: dict[str, int] = Field(
        description="Rows kept without the user's ids: deliveries, notifications addressed to them, "
        "receipts not yet posted."
    )


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["event_key"],
        "type": row["type"],
        "at": when(row["at"]),
        "received_at": when(row["received_at"]),
        "notification_id": row["notification_id"],
        "delivery_id": str(row["delivery_id"]) if row["delivery_id"] is not None else None,
        "category": row["category"],
        "value": row["value"],
        "currency": row["currency"],
        "properties": row["properties"],
    }


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "notification_id": row["notification_id"],
        "channel": row["channel"],
        "device_id": row["device_id"],
        "state": row["state"],
        "attempts": row["attempts"],
        "reason": row["last_reason"],
        "accepted_at": when(row["accepted_at"]),
        "sent_at": when(row["sent_at"]),
        "outcome_at": when(row["outcome_at"]),
    }


def _inbox_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "notification_id": row["notification_id"],
        "title": row["title"],
        "body": row["body"],
        "data": row["data"],
        "url": row["url"],
        "read": row["read_at"] is not None,
        "created_at": when(row["created_at"]),
        "deleted_at": when(row["deleted_at"]),
    }

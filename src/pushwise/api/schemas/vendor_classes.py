"""The per-vendor fields a category carries for the phone makers' service class (API.md, China).

Each vendor's entry must be complete: a missing field is a 422 naming it
(`[0].vendors.huawei.category`), found when the category is configured, never at send time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Strict

Text = Annotated[str, Field(min_length=1, max_length=128)]
HuaweiCategory = Literal[
    "IM",
    "VOIP",
    "SUBSCRIPTION",
    "TRAVEL",
    "HEALTH",
    "WORK",
    "ACCOUNT",
    "EXPRESS",
    "FINANCE",
    "DEVICE_REMINDER",
    "MAIL",
    "PLAY_VOICE",
    "SYSTEM_REMINDER",
]


class HuaweiClass(Strict):
    category: HuaweiCategory = Field(description="Huawei's service category (self-classification).")


class HonorClass(Strict):
    importance: Literal["NORMAL"] = Field(description="NORMAL: Honor's service class (LOW is marketing).")


class XiaomiClass(Strict):
    channel_id: Text = Field(description="A service (私信) channel registered with Xiaomi.")
    template_id: Text | None = None
    template_param: dict[str, str] | None = None


class OppoClass(Strict):
    channel_id: Text
    category: Text
    notify_level: Literal[1, 2, 16]


class VivoClass(Strict):
    category: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Z_]+$")] = Field(
        description="vivo's second-level category, upper case."
    )


class VendorClassesIn(Strict):
    huawei: HuaweiClass | None = None
    honor: HonorClass | None = None
    xiaomi: XiaomiClass | None = None
    oppo: OppoClass | None = None
    vivo: VivoClass | None = None

    def fields(self) -> dict[str, dict[str, Any]]:
        return {vendor: entry.model_dump(exclude_none=True) for vendor, entry in self if entry is not None}


class VendorClassesOut(BaseModel):
    vendor_class: Literal["service", "marketing"]
    vendors: dict[str, dict[str, Any]]
    warnings: list[str]

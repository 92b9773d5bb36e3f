"""`/v1/apps/{app_id}/providers/{huawei,honor,xiaomi,oppo,vivo}`: secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from pushwise.api.schemas.common import Strict

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]
Secret = Annotated[str, Field(min_length=1, max_length=512)]
Url = Annotated[str, Field(max_length=2048)]
CaPath = Annotated[str, Field(max_length=4096)]
ChannelId = Annotated[str, Field(min_length=1, max_length=128)]

_ENDPOINT = "Override of the service's base URL (e.g. a simulator's); its own paths are appended."
_CA = "Path on the server of a PEM CA bundle to trust (for simulators)."


class VendorIn(Strict):
    endpoint: Url | None = Field(default=None, description=_ENDPOINT)
    ca_file: CaPath | None = Field(default=None, description=_CA)


class HuaweiIn(VendorIn):
    client_id: Identifier = Field(description="The app's OAuth 2.0 client id (AppGallery Connect).")
    client_secret: Secret
    token_uri: Url | None = Field(default=None, description="Override of the OAuth 2.0 token endpoint.")


class HonorIn(VendorIn):
    app_id: Identifier
    client_id: Identifier
    client_secret: Secret
    token_uri: Url | None = Field(default=None, description="Override of the OAuth 2.0 token endpoint.")


class XiaomiIn(VendorIn):
    app_secret: Secret
    package_name: Annotated[
        str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
    ]
    marketing_channel_id: ChannelId | None = Field(
        default=None, description="The channel marketing pushes use (without it: Xiaomi's default channel)."
    )


class OppoIn(VendorIn):
    app_key: Identifier
    master_secret: Secret
    marketing_channel_id: ChannelId | None = Field(
        default=None, description="The channel marketing pushes use."
    )


class VivoIn(VendorIn):
    app_id: Identifier
    app_key: Identifier
    app_secret: Secret


VENDOR_BODIES: dict[str, type[VendorIn]] = {
    "huawei": HuaweiIn,
    "honor": HonorIn,
    "xiaomi": XiaomiIn,
    "oppo": OppoIn,
    "vivo": VivoIn,
}
SECRET_FIELDS = frozenset({"client_secret", "app_secret", "master_secret"})


class VendorOut(BaseModel):
    channel: str
    settings: dict[str, Any] = Field(description="The configuration without its secret.")
    receipt_url: str = Field(description="Where this vendor posts delivery receipts for this app.")
    credential_check: Literal["ok", "unreachable", "not_available"] = Field(
        description="The credentials were tried against the service's auth endpoint: `ok`; it could "
        "not be reached (stored anyway): `unreachable`; the service has no auth step (Xiaomi): "
        "`not_available`."
    )
    updated_at: datetime

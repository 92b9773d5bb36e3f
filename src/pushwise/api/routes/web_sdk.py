"""The Web SDK's files at `/sdk/{name}`, and the VAPID public key a page subscribes with.

The files are public and the same for every app, so any origin may load them (a module
`import` across origins needs `Access-Control-Allow-Origin`). The key is public too (every
subscription carries it), but it is per app, so it is read with the app's client key.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Response

from pushwise.api.auth import ClientOrServer
from pushwise.api.deps import StoresDep
from pushwise.api.schemas.providers import VapidPublicKeyOut
from pushwise.api.stored_credentials import described

router = APIRouter(tags=["web sdk"])

SDK_FILES = frozenset({"pushwise.js", "pushwise-sw.js", "pushwise-inbox.js"})


@router.get("/sdk/{name}", include_in_schema=False)
async def sdk_file(name: str) -> Response:
    if name not in SDK_FILES:
        return Response(status_code=404)
    body = resources.files("pushwise.web_sdk").joinpath(name).read_bytes()
    return Response(
        body,
        media_type="text/javascript",
        headers={
            "cache-control": "max-age=300",
            "x-content-type-options": "nosniff",
            "access-control-allow-origin": "*",
        },
    )


@router.get("/v1/webpush/vapid-public-key")
async def vapid_public_key(principal: ClientOrServer, stores: StoresDep) -> VapidPublicKeyOut:
    """404 until the app's Web Push provider is configured (`PUT .../providers/webpush`)."""
    summary = await described(
        stores.credentials, principal.app_id_required, "webpush", "Web Push configuration"
    )
    return VapidPublicKeyOut(vapid_public_key=summary.public["vapid_public_key"])

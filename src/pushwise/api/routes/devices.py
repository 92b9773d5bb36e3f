"""`/v1/devices`: register (client or server key), batch-register, read, remove."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from pushwise.api.auth import ClientOrServer, Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.devices import DeviceBatchIn, DeviceBatchItem, DeviceBatchOut, DeviceIn, DeviceOut
from pushwise.api.user_tokens import UserTokenHeader, token_user
from pushwise.domain.device_tokens import TokenRejected, validate_device
from pushwise.store.devices import DeviceRegistration

router = APIRouter(tags=["devices"])


def _registration(body: DeviceIn, *, allow_private: bool, field_prefix: str = "") -> DeviceRegistration:
    subscription = body.subscription
    parts = (
        (subscription.endpoint, subscription.keys.p256dh, subscription.keys.auth) if subscription else None
    )
    try:
        valid = validate_device(body.platform, body.token, parts, allow_private=allow_private)
    except TokenRejected as error:
        raise ApiError(422, error.code, error.message, field_prefix + error.field) from error
    return DeviceRegistration(
        valid.platform, valid.token, valid.subscription, body.user_id, body.timezone, body.locale
    )


@router.post("/v1/devices", status_code=status.HTTP_201_CREATED, responses={200: {"description": "Updated"}})
async def register_device(
    body: DeviceIn,
    principal: ClientOrServer,
    services: ServicesDep,
    stores: StoresDep,
    response: Response,
    user_token: UserTokenHeader = None,
) -> DeviceOut:
    """Registering a known (platform, token) again updates and reactivates that device (200, same id).

    A client key naming a `user_id` must prove it acts for that user with the user's token
    (`X-Pushwise-User-Token`), or anyone holding the public client key could receive
    another user's notifications by attaching a device to them.
    """
    if principal.kind == "client" and body.user_id is not None:
        owner = token_user(principal, user_token, secret_key=services.secret_key, now=services.clock.now())
        if owner != body.user_id:
            raise ApiError(403, "forbidden_user_token", "the user token is for another user", "user_id")
    registration = _registration(body, allow_private=services.settings.allow_private_endpoints)
    registered = await stores.devices.register(principal.app_id_required, registration)
    if not registered.created:
        response.status_code = status.HTTP_200_OK
    return DeviceOut.of(registered.device)


@router.post("/v1/devices:batch")
async def register_devices(
    body: DeviceBatchIn, principal: Server, services: ServicesDep, stores: StoresDep
) -> DeviceBatchOut:
    """Up to 1000 devices in one transaction; one invalid device refuses the whole batch."""
    allow_private = services.settings.allow_private_endpoints
    registrations = [
        _registration(device, allow_private=allow_private, field_prefix=f"devices.{index}.")
        for index, device in enumerate(body.devices)
    ]
    registered = await stores.devices.register_many(principal.app_id_required, registrations)
    items = [
        DeviceBatchItem(id=r.device.id, platform=r.device.platform, token=r.device.token, created=r.created)
        for r in registered
    ]
    created = sum(item.created for item in items)
    return DeviceBatchOut(items=items, created=created, updated=len(items) - created)


@router.get("/v1/devices/{device_id}")
async def get_device(device_id: str, principal: Server, stores: StoresDep) -> DeviceOut:
    device = await stores.devices.get(principal.app_id_required, device_id)
    if device is None:
        raise not_found("device")
    return DeviceOut.of(device)


@router.delete("/v1/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_device(device_id: str, principal: ClientOrServer, stores: StoresDep) -> None:
    if not await stores.devices.delete(principal.app_id_required, device_id):
        raise not_found("device")

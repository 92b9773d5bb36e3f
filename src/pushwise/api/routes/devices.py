"""`/v1/devices`: register (client or server key), batch-register, report the notification
permission, read, remove.

A device reported `denied` (at registration or later) stops being sent to; when
that leaves its user with no active device, the failure notice is planned once
the device update has committed (the follow-up sweep catches it if this process
dies in between).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from pushwise.api.auth import ClientOrServer, Server
from pushwise.api.deps import ServicesDep, StoresDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.devices import (
    DeviceBatchIn,
    DeviceBatchItem,
    DeviceBatchOut,
    DeviceIn,
    DeviceOut,
    DevicePermissionIn,
    registration_of,
)
from pushwise.api.user_tokens import UserTokenHeader, token_user
from pushwise.domain.device_tokens import TokenRejected
from pushwise.store.devices import DeviceRegistration, Registered

router = APIRouter(tags=["devices"])


def _registration(body: DeviceIn, *, allow_private: bool, field_prefix: str = "") -> DeviceRegistration:
    try:
        return registration_of(body, allow_private=allow_private)
    except TokenRejected as error:
        raise ApiError(422, error.code, error.message, field_prefix + error.field) from error


async def _tell_turned_off(services: ServicesDep, app_id: str, registered: list[Registered]) -> None:
    users = {r.device.user_id for r in registered if r.turned_off and r.device.user_id is not None}
    await services.engine.failure_notices.turned_off(app_id, users)


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
    await _tell_turned_off(services, principal.app_id_required, [registered])
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
        _registration(device, allow_private=allow_private, field_prefix=f"devices[{index}].")
        for index, device in enumerate(body.devices)
    ]
    registered = await stores.devices.register_many(principal.app_id_required, registrations)
    await _tell_turned_off(services, principal.app_id_required, registered)
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


@router.patch("/v1/devices/{device_id}")
async def report_permission(
    device_id: str,
    body: DevicePermissionIn,
    principal: ClientOrServer,
    services: ServicesDep,
    stores: StoresDep,
    user_token: UserTokenHeader = None,
) -> DeviceOut:
    """The app reports a change of the OS notification permission without registering again.

    `denied` takes an active device out of sending (`deactivated_reason: "PermissionDenied"`);
    `granted` brings back only a device that was out for that reason: a token a provider
    declared dead stays dead until it is registered again. A client key acting on a user's
    device must send that user's token, as at registration.
    """
    app_id = principal.app_id_required
    device = await stores.devices.get(app_id, device_id)
    if device is None:
        raise not_found("device")
    if principal.kind == "client" and device.user_external_id is not None:
        owner = token_user(principal, user_token, secret_key=services.secret_key, now=services.clock.now())
        if owner != device.user_external_id:
            raise ApiError(403, "forbidden_user_token", "the user token is for another user")
    reported = await stores.devices.report_permission(app_id, device_id, body.push_permission)
    if reported is None:  # removed in between
        raise not_found("device")
    if reported.turned_off and reported.device.user_id is not None:
        await services.engine.failure_notices.turned_off(app_id, {reported.device.user_id})
    return DeviceOut.of(reported.device)


@router.delete("/v1/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_device(
    device_id: str,
    principal: ClientOrServer,
    services: ServicesDep,
    stores: StoresDep,
    user_token: UserTokenHeader = None,
) -> None:
    """A client key removing a user's device must send that user's token, as at registration:
    the client key is public, and a device id alone must not let anyone cut a user off."""
    app_id = principal.app_id_required
    if principal.kind == "client":
        device = await stores.devices.get(app_id, device_id)
        if device is None:
            raise not_found("device")
        if device.user_external_id is not None:
            owner = token_user(
                principal, user_token, secret_key=services.secret_key, now=services.clock.now()
            )
            if owner != device.user_external_id:
                raise ApiError(403, "forbidden_user_token", "the user token is for another user")
    if not await stores.devices.delete(app_id, device_id):
        raise not_found("device")

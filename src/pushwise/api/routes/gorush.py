"""Gorush's HTTP API on pushwise (server key): `POST /api/push`, `GET /api/stat/app`, `GET /api/stat/go`.

A team on Gorush changes a URL and adds its server key. Each Gorush notification becomes one
pushwise notification to the tokens given, through the API's own acceptance: durable once
answered, retried by each provider's rules, dead tokens pruned. Tokens the app has not registered
are registered (without a user); known ones are left as they are, so a token a provider declared
dead is not revived by naming it: it is answered in `logs` with the provider's reason instead.
The answer is Gorush's `{"counts", "logs", "success": "ok"}`; `logs` holds what is known at once
(Gorush's sync mode), later outcomes are in `GET /v1/notifications/{id}` (ids in `accepted`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform as host
import resource
import time
from collections import Counter
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import ValidationError

import pushwise
from pushwise.api.auth import Server
from pushwise.api.deps import ServicesDep, Stores, StoresDep
from pushwise.api.errors import ApiError
from pushwise.api.gorush import CHANNELS, PLATFORMS, ApnsSettings, Unmappable, notification_body
from pushwise.api.routes.notifications import accept
from pushwise.api.schemas.gorush import (
    MAX_NOTIFICATIONS,
    GorushAccepted,
    GorushAnswer,
    GorushAppStats,
    GorushLog,
    GorushNotification,
    GorushPlatformStat,
    GorushRequest,
    GorushRuntimeStats,
)
from pushwise.api.schemas.notifications import NotificationIn
from pushwise.bootstrap import Services
from pushwise.domain.device_tokens import Platform, TokenRejected, validate_device
from pushwise.monitoring.tally import DELIVERIES
from pushwise.store.devices import DeviceRegistration
from pushwise.store.rollups import RollupRepository

router = APIRouter(tags=["gorush"])

_FAILED = frozenset({"failed", "expired"})
# The device each Gorush platform's tokens are: (platform, vendor).
_DEVICES: dict[str, tuple[Platform, str | None]] = {
    "ios": ("ios", None),
    "android": ("android", None),
    "huawei": ("android", "huawei"),
}
_STAT_CHANNELS = {"ios": "apns", "android": "fcm", "huawei": "huawei"}


@router.post("/api/push")
async def push(
    body: GorushRequest, principal: Server, services: ServicesDep, stores: StoresDep
) -> GorushAnswer:
    """Gorush's request (`notifications[]`, platform 1 iOS, 2 Android): see docs/gorush.md."""
    count = len(body.notifications)
    if count == 0:
        raise ApiError(400, "no_notifications", "Notifications field is empty.", "notifications")
    if count > MAX_NOTIFICATIONS:
        message = f"Number of notifications({count}) over limit({MAX_NOTIFICATIONS})"
        raise ApiError(400, "too_many_notifications", message, "notifications")
    return await _Push(services, stores, principal.app_id_required).run(body.notifications)


class _Push:
    def __init__(self, services: Services, stores: Stores, app_id: str) -> None:
        self._services = services
        self._stores = stores
        self._app_id = app_id
        self._answer = GorushAnswer(counts=0, logs=[])
        self._providers: dict[str, dict[str, Any] | None] = {}

    async def run(self, notifications: list[GorushNotification]) -> GorushAnswer:
        for index, notification in enumerate(notifications):
            await self._one(index, notification)
        return self._answer

    def _fail(self, notification: GorushNotification, platform: str, tokens: list[str], error: str) -> None:
        self._answer.logs.extend(
            GorushLog(
                platform=platform,
                token=token,
                message=notification.message or "",
                error=error,
                notif_id=notification.notif_id,
            )
            for token in tokens
        )

    async def _provider(self, channel: str) -> dict[str, Any] | None:
        """The public settings of the app's provider for a channel; None when it has none."""
        if channel not in self._providers:
            summary = await self._stores.credentials.describe(self._app_id, channel)
            self._providers[channel] = dict(summary.public) if summary is not None else None
        return self._providers[channel]

    async def _one(self, index: int, notification: GorushNotification) -> None:
        platform = PLATFORMS.get(notification.platform, str(notification.platform))
        targets = notification.tokens or [notification.topic or ""]
        channel = CHANNELS.get(platform)
        if channel is None:
            self._fail(notification, platform, targets, f"platform {notification.platform} is not supported")
            return
        provider = await self._provider(channel)
        if provider is None:
            self._fail(notification, platform, targets, f"{channel} is not configured for this app")
            return
        topic_message = platform != "ios" and bool(notification.topic)
        self._answer.counts += len(notification.tokens) + topic_message
        if topic_message:
            message = "topic messages are not supported: pushwise sends to device tokens"
            self._fail(notification, platform, [notification.topic or ""], message)
        if not notification.tokens:
            return
        apns = ApnsSettings(provider["topic"], provider["environment"]) if platform == "ios" else None
        try:
            body = notification_body(notification, platform, now=self._services.clock.now(), apns=apns)
        except Unmappable as refused:
            self._fail(notification, platform, notification.tokens, str(refused))
            return
        valid = self._valid_tokens(notification, platform)
        if notification.dry_run:  # checked and counted, nothing registered or sent
            return
        device_ids = await self._devices(notification, platform, valid)
        if device_ids:
            await self._accept(index, notification, platform, body, device_ids)

    def _valid_tokens(self, notification: GorushNotification, platform: str) -> dict[str, str]:
        """The token as stored (APNs tokens lower-cased) to the token given; invalid ones are logged."""
        valid: dict[str, str] = {}
        allow_private = self._services.settings.allow_private_endpoints
        device_platform, vendor = _DEVICES[platform]
        for token in notification.tokens:
            try:
                checked = validate_device(
                    device_platform, token, None, allow_private=allow_private, vendor=vendor
                )
            except TokenRejected as rejected:
                self._fail(notification, platform, [token], rejected.message)
                continue
            valid[checked.token] = token
        return valid

    async def _devices(
        self, notification: GorushNotification, platform: str, valid: dict[str, str]
    ) -> dict[str, str]:
        """Active device id per valid token; dead ones are logged with the provider's reason."""
        device_platform, vendor = _DEVICES[platform]
        known = await self._stores.devices.known_or_new(
            self._app_id, [DeviceRegistration(device_platform, token, vendor=vendor) for token in valid]
        )
        active: dict[str, str] = {}
        for token, given in valid.items():
            device = known[(device_platform, token)]
            if device.active:
                active[device.id] = given
            else:
                self._fail(notification, platform, [given], device.deactivated_reason or "inactive")
        return active

    async def _accept(
        self,
        index: int,
        notification: GorushNotification,
        platform: str,
        body: dict[str, Any],
        device_ids: dict[str, str],
    ) -> None:
        key = f"gorush:{notification.notif_id}" if notification.notif_id else None
        try:
            request = NotificationIn.model_validate({**body, "to": {"device_ids": list(device_ids)}})
            accepted = await accept(self._services, self._app_id, request, key)
        except ValidationError as invalid:
            first = invalid.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._fail(notification, platform, list(device_ids.values()), f"{where}: {first['msg']}")
            return
        except ApiError as refused:
            self._fail(notification, platform, list(device_ids.values()), refused.message)
            return
        self._answer.accepted.append(
            GorushAccepted(index=index, id=accepted.id, recipients=accepted.recipients)
        )


@router.get("/api/stat/app")
async def app_stats(principal: Server, services: ServicesDep) -> GorushAppStats:
    """Gorush's application stats from this app's delivery totals (final outcomes, cluster-wide,
    as `/metrics` counts them: flushed every few seconds)."""
    app_id = principal.app_id_required
    outcomes: Counter[tuple[str, str]] = Counter()
    for name, labels, value in await RollupRepository(services.db).totals():
        if name == DELIVERIES:
            parsed = orjson.loads(labels)
            if parsed.get("app") == app_id:
                outcomes[(parsed.get("channel", ""), parsed.get("outcome", ""))] += int(value)
    gauges = await RollupRepository(services.db).queue_gauges(app_id=app_id, now=services.clock.now())

    def stat(channel: str) -> GorushPlatformStat:
        success = outcomes[(channel, "delivered")]
        errors = sum(
            count for (each, outcome), count in outcomes.items() if each == channel and outcome in _FAILED
        )
        return GorushPlatformStat(push_success=success, push_error=errors)

    success = sum(count for (_, outcome), count in outcomes.items() if outcome == "delivered")
    failure = sum(count for (_, outcome), count in outcomes.items() if outcome in _FAILED)
    total = sum(outcomes.values())
    return GorushAppStats(
        version=pushwise.__version__,
        busy_workers=sum(gauge.pending for gauge in gauges),
        success_tasks=success,
        failure_tasks=failure,
        submitted_tasks=total,
        total_count=total,
        **{platform: stat(channel) for platform, channel in _STAT_CHANNELS.items()},
    )


@router.get("/api/stat/go")
async def runtime_stats(principal: Server) -> GorushRuntimeStats:
    """The process's figures where Gorush's Go runtime stats have a Python meaning."""
    return GorushRuntimeStats(
        time=time.time_ns(),
        python_version=host.python_version(),
        go_os=host.system().lower(),
        go_arch=host.machine(),
        cpu_num=os.cpu_count() or 1,
        goroutine_num=len(asyncio.all_tasks()),
        memory_sys=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        gc_num=sum(generation["collections"] for generation in gc.get_stats()),
    )

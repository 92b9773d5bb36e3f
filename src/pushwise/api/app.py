"""The HTTP application: `create_app(services)` wires routes, auth, errors and background services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI

import pushwise
from pushwise.api.auth import KeyAuthenticator
from pushwise.api.body_limit import BodyLimit
from pushwise.api.deps import Stores
from pushwise.api.errors import install_error_handlers
from pushwise.api.openapi import install_openapi
from pushwise.api.rate_limits import AddressLimit, BudgetSync, RateLimitOptions, RateLimits
from pushwise.api.routes import (
    alerts,
    apps,
    audit,
    campaigns,
    catalog,
    clicks,
    devices,
    events,
    experiments,
    feedback,
    gate,
    gorush,
    health,
    metrics,
    notice_answer_page,
    notifications,
    policy,
    preference_page,
    preferences,
    privacy,
    providers,
    receipts,
    segments,
    templates,
    uplift_models,
    users,
    vendor_receipts,
    vendors,
    web_sdk,
)
from pushwise.api.routes.channel_routes import channel_routers
from pushwise.api.sdk_cors import SdkCors, parse_origins
from pushwise.bootstrap import Services
from pushwise.dashboard import campaign_pages, uplift_pages
from pushwise.dashboard import routes as dashboard_routes
from pushwise.dashboard import segments as dashboard_segments
from pushwise.domain.request_budget import RequestBudgets
from pushwise.store.request_budgets import SharedBudgets

log = logging.getLogger(__name__)


class BackgroundService(Protocol):
    """Something that runs beside the API for the app's lifetime (delivery workers, schedulers)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(services: Services, *, background: Sequence[BackgroundService] = ()) -> FastAPI:
    settings = services.settings
    budgets = RequestBudgets(services.clock)
    limits = RateLimits(
        budgets,
        RateLimitOptions(
            settings.api_rate_limit, settings.api_rate_limit_per_ip, settings.dashboard_logins_per_minute
        ),
    )
    budget_sync = BudgetSync(
        budgets, SharedBudgets(services.db), services.clock, settings.rate_limit_sync_seconds
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started: list[BackgroundService] = []
        try:
            # monitoring first: it flushes last
            own: tuple[BackgroundService, ...] = (services.monitoring, services.checkpoints, budget_sync)
            for service in (*own, *background):
                await service.start()
                started.append(service)
            yield
        finally:
            for service in reversed(started):
                try:
                    await service.stop()
                except Exception:  # one that cannot stop cleanly must not keep the rest running
                    log.exception("stopping %s failed", type(service).__name__)

    app = FastAPI(
        title="Pushwise",
        version=pushwise.__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # Bearer keys, not cookies, authenticate: a JSON body without a Content-Type is safe to accept.
        strict_content_type=False,
    )
    stores = Stores.build(services)
    app.state.services = services
    app.state.stores = stores
    app.state.authenticator = KeyAuthenticator(stores.keys, services.clock, settings.admin_key)
    app.state.rate_limits = limits
    app.state.budget_sync = budget_sync
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout_seconds=settings.body_timeout_seconds
    )
    origins = parse_origins(settings.sdk_allowed_origins)
    if origins:
        app.add_middleware(SdkCors, origins=origins)
    app.add_middleware(AddressLimit, limits=limits)  # outermost: a flood is refused before anything else
    # Routes are matched in order: the hottest path (sending) is tried first.
    for module in (
        notifications,
        devices,
        events,
        health,
        apps,
        providers,
        users,
        preferences,
        privacy,
        receipts,
    ):
        app.include_router(module.router)
    for china in (vendors, vendor_receipts):  # Android in China: vendors, receipts
        app.include_router(china.router)
    app.include_router(policy.router)  # Android routes and the gate's rules
    app.include_router(gate.router)
    app.include_router(alerts.router)
    app.include_router(experiments.router)
    app.include_router(audit.router)
    app.include_router(uplift_models.router)
    app.include_router(gorush.router)
    app.include_router(metrics.router)
    app.include_router(clicks.router)
    app.include_router(web_sdk.router)
    app.include_router(templates.router)
    app.include_router(feedback.router)
    app.include_router(catalog.router)
    app.include_router(segments.router)
    app.include_router(campaigns.router)
    app.include_router(dashboard_routes.router)
    app.include_router(uplift_pages.router)
    app.include_router(campaign_pages.router)
    app.include_router(dashboard_segments.router)
    app.include_router(preference_page.router)
    app.include_router(notice_answer_page.router)
    app.state.inbox_feed = services.inbox_feed
    for router in channel_routers:
        app.include_router(router)
    return app

"""Long-running processes: API and workers together (`serve`), or apart (`api`, `worker`)."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Coroutine, Mapping
from contextlib import suppress
from typing import Any, TypeVar

import uvicorn
from sqlalchemy.engine import make_url

from pushwise.api.app import create_app
from pushwise.api.routes.metrics import warn_if_open
from pushwise.api.routes.notifications import accept
from pushwise.api.schemas.notifications import NotificationIn
from pushwise.api.slow_clients import header_deadline_protocol
from pushwise.bootstrap import Services, build_services
from pushwise.campaigns.runner import CampaignRunner
from pushwise.campaigns.sending import CampaignSender
from pushwise.campaigns.service import CampaignService
from pushwise.delivery.engagement import AudienceUpkeep
from pushwise.delivery.follow_ups import FollowUpService
from pushwise.delivery.receipts import ReceiptService
from pushwise.delivery.service import WorkerService
from pushwise.delivery.worker import DeliveryWorker
from pushwise.monitoring.logs import configure_logging
from pushwise.settings import Settings
from pushwise.store import migrate
from pushwise.store.db import Database
from pushwise.store.wakeups import WakeupListener
from pushwise.uplift.trainer import UpliftTrainer

# How long SIGTERM waits for batches in flight before giving their deliveries back.
DRAIN_SECONDS = 25.0


class Workers:
    """A process's delivery workers with their cross-process wake-ups.

    Stopping drains: batches in flight finish and record their outcomes; a batch
    still sending after `DRAIN_SECONDS` is cancelled and released to the queue, so
    another process sends it at once instead of after its lease.
    """

    def __init__(self, db: Database, worker: DeliveryWorker) -> None:
        self._worker = worker
        self._service = WorkerService(worker)
        self._wakeups = WakeupListener(db)
        self._wakeups.subscribe(worker.wake)

    async def start(self) -> None:
        await self._wakeups.start()
        await self._service.start()

    async def stop(self) -> None:
        await self._worker.stop(DRAIN_SECONDS)
        await self._service.stop()
        await self._wakeups.stop()


def delivery_services(
    services: Services,
) -> list[AudienceUpkeep | Workers | ReceiptService | FollowUpService | UpliftTrainer | CampaignService]:
    """What a process that delivers runs in the background: workers, the receipt sender, the
    follow-up sweep (leader only) for fallback steps and notices a crash left unwritten, the
    uplift trainer and the campaign runner (leader only), and the audience upkeep (first, so
    it stops last and writes the drained workers' engagement)."""
    return [
        services.audience_upkeep,
        Workers(services.db, services.engine.worker()),
        services.receipts,
        services.follow_ups,
        services.uplift_trainer,
        campaign_service(services),
    ]


def campaign_service(services: Services) -> CampaignService:
    """The leader's campaign runner, sending through the API's own validation and accept."""

    async def send(app_id: str, body: Mapping[str, Any], key: str | None, campaign_id: str) -> str:
        request = NotificationIn.model_validate(body)
        return (await accept(services, app_id, request, key, campaign_id=campaign_id)).id

    runner = CampaignRunner(
        services.db,
        services.engine.campaigns,
        CampaignSender(send),
        services.clock,
        interest_half_life=services.audience.learning.interest_half_life,
    )
    return CampaignService(runner, lambda: services.leadership.acquire("campaigns"))


class OutdatedSchema(SystemExit):
    pass


def prepare_database(settings: Settings) -> None:
    """Bring the embedded database up to date; refuse to run on an outdated shared one.

    SQLite belongs to this process alone, so upgrading it on start is safe. A
    PostgreSQL schema is shared by many processes and is upgraded deliberately
    with `pushwise db upgrade`.
    """
    url = settings.database_url
    if settings.auto_migrate and make_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)
        return
    current = asyncio.run(_current_revisions(settings))
    needed = migrate.head_revisions()
    if current != needed:
        raise OutdatedSchema(
            f"database schema is at {', '.join(sorted(current)) or 'nothing'}, this pushwise needs "
            f"{', '.join(sorted(needed))}: run `pushwise db upgrade` first"
        )


async def _current_revisions(settings: Settings) -> frozenset[str]:
    services = build_services(settings)
    try:
        return await migrate.current_revisions(services.db.read)
    finally:
        await services.db.dispose()


T = TypeVar("T")


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived process on uvloop where it exists (not on Windows).

    Every request and every batch crosses the event loop many times (socket reads,
    the SQLite driver's thread hand-offs, provider responses); uvloop makes each
    crossing several times cheaper than the stock loop, which is most of the
    latency of a one-device send on a busy machine.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settle_heap() -> None:
    """Exempt everything built at start-up from the cyclic garbage collector.

    The app, its routes, schemas and services live as long as the process; left to
    the collector, each full collection walks all of them again and stalls the event
    loop for 100-200 ms here, which shows as a latency spike on every request in flight.
    """
    gc.collect()
    gc.freeze()


def run_http(settings: Settings, *, with_workers: bool) -> None:
    configure_logging(settings.log_level)
    prepare_database(settings)
    run_fast(_serve_http(settings, with_workers=with_workers))


async def _serve_http(settings: Settings, *, with_workers: bool) -> None:
    services = build_services(settings)
    app = create_app(services, background=delivery_services(services) if with_workers else [])
    settle_heap()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
        http=header_deadline_protocol(settings.header_timeout_seconds),
    )
    warn_if_open(settings.host, settings.metrics_token)
    try:
        await uvicorn.Server(config).serve()
    finally:
        await services.close()


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log_level)
    prepare_database(settings)
    run_fast(_serve_worker(settings))


async def _serve_worker(settings: Settings) -> None:
    services: Services = build_services(settings)
    background = delivery_services(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await services.monitoring.start()  # flushes this process's counts; alert jobs run on the leader
    await services.checkpoints.start()
    for service in background:
        await service.start()
    settle_heap()
    try:
        await stop.wait()
    finally:
        for service in reversed(background):
            await service.stop()
        await services.checkpoints.stop()
        await services.monitoring.stop()
        await services.close()

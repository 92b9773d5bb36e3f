"""The composition root: builds the object graph from settings.

Nothing else reads settings or the environment. Tests and embedders call
`build_services` with their own `Settings`, clock and random source.
"""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from pushwise.delivery.channels import UserChannels, channel_credentials, provider_factories
from pushwise.delivery.engagement import AudienceUpkeep, EngagementRecorder
from pushwise.delivery.engine import Engine
from pushwise.delivery.follow_ups import FollowUpService
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.receipts import ReceiptSender, ReceiptService
from pushwise.delivery.targeting import UpliftTargeting
from pushwise.delivery.vendor_classes import VendorClasses
from pushwise.delivery.worker import WorkerOptions
from pushwise.domain.audience.event_types import DEFAULT_INTEREST_WEIGHTS
from pushwise.domain.audience.learning import AudienceOptions, LearningOptions, parse_weights
from pushwise.domain.backoff import RetryPolicy
from pushwise.domain.click_links import ClickLinks
from pushwise.domain.clock import Clock, SystemClock
from pushwise.domain.flush import FlushPolicy
from pushwise.hosted.links import notice_answer_url
from pushwise.monitoring.assembly import build_monitoring, load_rule_file
from pushwise.monitoring.circuits import CircuitStates, ConnectionCounts
from pushwise.monitoring.service import Monitoring, MonitoringOptions
from pushwise.monitoring.sinks import SmtpConfig
from pushwise.monitoring.tally import OutcomeTally
from pushwise.monitoring.timing import timed_factories
from pushwise.monitoring.vendor_quota import VendorQuotaTally
from pushwise.net.public_transport import outbound_transport
from pushwise.settings import Settings
from pushwise.store.categories import CategoryRepository
from pushwise.store.checkpoints import WalCheckpoints
from pushwise.store.credentials import CredentialRepository
from pushwise.store.db import Database, open_database
from pushwise.store.inbox_feed import InboxFeed
from pushwise.store.leader import Leadership
from pushwise.store.receipts import ReceiptEndpoints, ReceiptOutbox
from pushwise.store.rollups import RollupRepository
from pushwise.store.sealing import Sealer
from pushwise.store.uplift_features import FeatureOptions
from pushwise.store.uplift_models import UpliftModelRepository
from pushwise.store.vendor_quota import VendorQuotaUse
from pushwise.uplift.scorer import ModelScorer
from pushwise.uplift.trainer import TrainerOptions, UpliftTrainer


@dataclass
class Services:
    settings: Settings
    clock: Clock
    rng: random.Random
    db: Database
    engine: Engine
    secret_key: bytes = field(repr=False)
    monitoring: Monitoring = field(repr=False)
    inbox_feed: InboxFeed = field(repr=False)
    leadership: Leadership = field(repr=False)
    receipts: ReceiptService = field(repr=False)
    follow_ups: FollowUpService = field(repr=False)
    checkpoints: WalCheckpoints = field(repr=False)
    audience: AudienceOptions = field(repr=False)
    audience_upkeep: AudienceUpkeep = field(repr=False)
    click_links: ClickLinks = field(repr=False)
    uplift_scorer: ModelScorer = field(repr=False)
    uplift_trainer: UpliftTrainer = field(repr=False)

    async def close(self) -> None:
        """Give back leads, close provider connections and the database pools."""
        await self.audience_upkeep.recorder.flush()
        await self.leadership.close()
        await self.engine.close()
        await self.receipts.sender.close()
        await self.db.dispose()


def load_secret_key(settings: Settings) -> bytes:
    """The key that seals provider secrets at rest and signs user tokens.

    An explicit `PUSHWISE_SECRET_KEY` wins. Otherwise the embedded default keeps a
    random key in a file readable only by its owner, created on first start, so a
    single-machine install needs no set-up and its secrets survive restarts.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.secret_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def worker_options(settings: Settings) -> WorkerOptions:
    return WorkerOptions(
        batch_size=settings.worker_batch_size,
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.worker_lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        linger_seconds=settings.worker_linger_seconds,
        flush=FlushPolicy(settings.worker_flush_count, settings.worker_flush_seconds),
        max_in_flight=settings.worker_max_in_flight,
        retry=RetryPolicy(
            settings.retry_base_seconds, settings.retry_cap_seconds, settings.retry_max_attempts
        ),
    )


def audience_options(settings: Settings) -> AudienceOptions:
    day = 86_400.0
    return AudienceOptions(
        learning=LearningOptions(
            interest_weights=parse_weights(settings.interest_weights, DEFAULT_INTEREST_WEIGHTS),
            interest_half_life=settings.interest_half_life_days * day,
            propensity_half_life=settings.propensity_half_life_days * day,
        ),
        late_window=settings.event_late_window_days * day,
        retention=settings.event_retention_days * day,
    )


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    registry: ProviderRegistry | None = None,
) -> Services:
    """Build everything from settings; `registry` lets an embedder or test bring its own providers."""
    clock = clock or SystemClock()
    rng = rng or random.Random()
    db = open_database(settings.database_url, pool_size=settings.db_pool_size)
    secret_key = load_secret_key(settings)
    credentials = CredentialRepository(db, clock, Sealer(secret_key))
    tally = OutcomeTally(RollupRepository(db))
    inbox_feed = InboxFeed()
    click_links = ClickLinks(secret_key, settings.public_base_url)
    # The class each push goes as to a phone maker, from the app's categories (adapters, quota chart).
    vendor_classes = VendorClasses(CategoryRepository(db, clock), clock)
    factories = provider_factories(
        clock,
        vendor_classes=vendor_classes.message_class,
        timeout=settings.send_timeout_seconds,
        allow_private_endpoints=settings.allow_private_endpoints,
        user_channels=UserChannels(db, secret_key, settings.public_base_url, inbox_feed),
        links=click_links,
    )
    if settings.monitoring:
        factories = timed_factories(factories, tally)
    registry = registry or ProviderRegistry(channel_credentials(credentials.get), factories, clock)
    audience = audience_options(settings)
    uplift_models = UpliftModelRepository(db)
    uplift_features = FeatureOptions(audience.learning, settings.uplift_feature_lookback_days * 86_400.0)
    uplift_scorer = ModelScorer(uplift_models, db, uplift_features, clock)
    engine = Engine(
        db,
        registry,
        clock,
        rng,
        worker_options=worker_options(settings),
        default_ttl_seconds=settings.default_ttl_seconds,
        learning=audience.learning,
        notice_answer_link=partial(notice_answer_url, secret_key, settings.public_base_url),
        targeting=UpliftTargeting(uplift_scorer),
    )
    if settings.monitoring:
        engine.add_listener(tally)
        engine.add_listener(
            VendorQuotaTally(engine.notifications, VendorQuotaUse(db), clock, vendor_classes.message_class)
        )
    recorder = EngagementRecorder(db, clock, audience.learning.propensity_half_life)
    engine.add_listener(recorder)
    leadership = Leadership(db)
    monitoring = monitoring_of(settings, db, clock, credentials, tally, engine.circuits, engine.providers)
    # Alert evaluation, credential checks and pruning run on one process of the cluster.
    monitoring.is_leader = lambda: leadership.acquire("monitoring")
    receipts = ReceiptService(
        ReceiptSender(
            ReceiptOutbox(db),
            ReceiptEndpoints(db, clock, Sealer(secret_key)),
            clock,
            rng,
            httpx.AsyncClient(transport=outbound_transport(allow_private=settings.allow_private_endpoints)),
        )
    )
    # Fallback steps and failure notices a crash kept from being written: one process catches up.
    follow_ups = FollowUpService(engine.follow_ups, lambda: leadership.acquire("follow-ups"))
    # Uplift models are trained by one process of the cluster, in the background.
    uplift_trainer = UpliftTrainer(
        uplift_models,
        db,
        uplift_features,
        clock,
        lambda: leadership.acquire("uplift-training"),
        TrainerOptions(settings.uplift_lease_seconds, settings.uplift_poll_seconds),
    )
    return Services(
        settings=settings,
        clock=clock,
        rng=rng,
        db=db,
        engine=engine,
        secret_key=secret_key,
        monitoring=monitoring,
        inbox_feed=inbox_feed,
        leadership=leadership,
        receipts=receipts,
        follow_ups=follow_ups,
        checkpoints=WalCheckpoints(db),
        audience=audience,
        click_links=click_links,
        audience_upkeep=AudienceUpkeep(
            recorder, db, clock, audience, lambda: leadership.acquire("audience-upkeep")
        ),
        uplift_scorer=uplift_scorer,
        uplift_trainer=uplift_trainer,
    )


def monitoring_of(
    settings: Settings,
    db: Database,
    clock: Clock,
    credentials: CredentialRepository,
    tally: OutcomeTally,
    circuits: CircuitStates,
    pools: ConnectionCounts,
) -> Monitoring:
    """Monitoring settings are read from the settings file's extra keys until they become fields."""
    extra = settings.extra
    smtp_host = extra.get("smtp_host")
    sender = str(extra.get("alert_email_from", "pushwise@localhost"))
    smtp = SmtpConfig(str(smtp_host), int(extra.get("smtp_port", 25)), sender) if smtp_host else None
    retention_days = float(extra.get("rollup_retention_days", 30))
    return build_monitoring(
        db,
        clock,
        credentials,
        tally,
        circuits,
        pools,
        allow_private_endpoints=settings.allow_private_endpoints,
        smtp=smtp,
        rule_file=load_rule_file(extra.get("alert_rules_file")),
        options=MonitoringOptions(retention_seconds=retention_days * 86400, loops=settings.monitoring),
    )

"""The engine as a library: accept, cancel and inspect notifications, and run workers.

The HTTP API is one face of this class; tests, the demo and embedders drive the
same object in-process, with the same guarantees.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pushwise.delivery.choices import Choices
from pushwise.delivery.circuits import CircuitBoard
from pushwise.delivery.digests import DigestWriter
from pushwise.delivery.fallback import FallbackPlanner
from pushwise.delivery.follow_ups import FollowUpSweep
from pushwise.delivery.gate import Gate
from pushwise.delivery.notices import AnswerLink, FailureNotices
from pushwise.delivery.providers import ProviderRegistry
from pushwise.delivery.rates import RateLimits, SendRates
from pushwise.delivery.receipts import ReceiptRecorder
from pushwise.delivery.render import Renderer
from pushwise.delivery.routing import InstallationRouter
from pushwise.delivery.targeting import UpliftTargeting
from pushwise.delivery.worker import DeliveryWorker, OutcomeListener, PreSendGate, WorkerOptions
from pushwise.domain.audience.learning import LearningOptions
from pushwise.domain.clock import Clock
from pushwise.domain.notification import NotificationSpec
from pushwise.domain.states import lane_for
from pushwise.store.campaigns import CampaignRepository
from pushwise.store.catalog import CatalogRepository
from pushwise.store.db import Database
from pushwise.store.events import EventLog
from pushwise.store.fallback import FallbackRepository
from pushwise.store.gate_state import GateStates
from pushwise.store.notices import NoticeRepository, NoticeTemplates
from pushwise.store.notifications import Accepted, NewNotification, NotificationRepository, Target
from pushwise.store.policies import PolicyRepository
from pushwise.store.queue import DeliveryQueue
from pushwise.store.receipts import ReceiptOutbox
from pushwise.store.routes import InstallationRepository
from pushwise.store.segments import SegmentRepository
from pushwise.store.templates import TemplateRepository


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    spec: NotificationSpec
    target: Target
    send_at: float | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None


class Engine:
    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        clock: Clock,
        rng: random.Random,
        *,
        worker_options: WorkerOptions,
        default_ttl_seconds: int,
        rate_limits: RateLimits | None = None,
        learning: LearningOptions | None = None,
        notice_answer_link: AnswerLink | None = None,
        targeting: UpliftTargeting | None = None,
    ) -> None:
        """`notice_answer_link(app_id, user_id)`: where the failure notice's one-tap answer goes."""
        learning = learning or LearningOptions.defaults()
        # Segment rules on interests decay them with the half-life the profiles learn with.
        self.notifications = NotificationRepository(db, interest_half_life=learning.interest_half_life)
        self.segments = SegmentRepository(db, clock, interest_half_life=learning.interest_half_life)
        self.queue = DeliveryQueue(db)
        self.providers = providers
        # One board per process, shared by its workers; monitoring reads `circuits.states()`.
        self.circuits = CircuitBoard(clock)
        self.rates = SendRates(clock, rate_limits)
        self.events = EventLog(db)
        self.fallback = FallbackRepository(db)
        self.templates = TemplateRepository(db)
        self.catalog = CatalogRepository(db)
        self.campaigns = CampaignRepository(db)
        # Targeting by uplift: the gate asks the model, the variant choice reads its answer.
        choices = Choices(db, self.catalog, clock, rng, targeting=targeting)
        self.renderer = Renderer(db, self.templates, choices, learning, clock)
        self.gate_states = GateStates(db, learning)
        self.gate = Gate(
            self.gate_states, self.renderer, DigestWriter(self.templates, self.renderer), targeting
        )
        self.policies = PolicyRepository(db, clock)
        self.routing = InstallationRouter(InstallationRepository(db), self.policies, clock)
        self._clock = clock
        self._rng = rng
        self._worker_options = worker_options
        self._default_ttl = default_ttl_seconds
        self._local_workers: list[DeliveryWorker] = []
        notices = NoticeRepository(db)
        self.failure_notices = FailureNotices(
            notices, NoticeTemplates(db), clock, on_planned=self.wake_workers, answer_link=notice_answer_link
        )
        # Receipts are written with what they report: outcomes (workers) and fallback steps (planner).
        self.receipts = ReceiptRecorder(ReceiptOutbox(db), clock)
        planner = FallbackPlanner(self.notifications, self.fallback, clock, receipts=self.receipts)
        # Built in: fallback channels and failure notices follow every committed outcome...
        self._listeners: list[OutcomeListener] = [planner, self.failure_notices]
        # ...and the sweep catches up on the steps (and their receipts) a crash before the listeners lost.
        self.follow_ups = FollowUpSweep(self.fallback, planner, notices, self.failure_notices, clock)

    async def accept(self, app_id: str, request: AcceptRequest) -> Accepted:
        now = self._clock.now()
        spec = request.spec
        starts_at = max(now, request.send_at or now)
        ttl = spec.ttl_seconds if spec.ttl_seconds is not None else self._default_ttl
        accepted = await self.notifications.accept(
            NewNotification(
                app_id=app_id,
                spec=spec.to_dict(),
                target=request.target,
                priority=spec.priority,
                lane=lane_for(spec.priority),
                category=spec.category,
                send_at=request.send_at,
                expires_at=starts_at + ttl,
                idempotency_key=request.idempotency_key,
                request_hash=request.request_hash,
                campaign_id=spec.campaign_id,
            ),
            now,
        )
        if accepted.recipients and not accepted.replayed:
            self.wake_workers()
        return accepted

    def wake_workers(self) -> None:
        """New work is due: this process's workers claim it now, not at their next poll.

        Other processes hear of it through the PostgreSQL wake-up signal; on SQLite
        (one process) this is the only early signal there is.
        """
        for worker in self._local_workers:
            worker.wake()

    def add_listener(self, listener: OutcomeListener) -> None:
        """Workers made after this call report their committed outcomes to `listener`."""
        self._listeners.append(listener)

    def worker(
        self,
        *,
        owner: str | None = None,
        options: WorkerOptions | None = None,
        gate: PreSendGate | None = None,
    ) -> DeliveryWorker:
        """A worker of this engine; `gate` replaces the pre-send gate (the preference check) for an
        embedder that composes its own, or a benchmark measuring what the check costs."""
        worker = DeliveryWorker(
            self.queue,
            self.notifications,
            self.providers,
            self._clock,
            self._rng,
            options or self._worker_options,
            owner=owner,
            listeners=self._listeners,
            receipts=self.receipts,
            circuits=self.circuits,
            events=self.events,
            rates=self.rates,
            gate=gate or self.gate,
            renderer=self.renderer,
            routing=self.routing,
        )
        self._local_workers.append(worker)
        return worker

    async def close(self) -> None:
        await self.providers.close()

"""Request-scoped access to the objects `create_app` built once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from pushwise.api.auth import AppManager
from pushwise.api.errors import not_found
from pushwise.bootstrap import Services
from pushwise.store.apps import App, AppRepository
from pushwise.store.audit import AuditLog
from pushwise.store.categories import CategoryRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.devices import DeviceRepository
from pushwise.store.experiments import ExperimentRepository
from pushwise.store.feedback import FeedbackCounts
from pushwise.store.keys import KeyRepository
from pushwise.store.preferences import PreferenceRepository
from pushwise.store.privacy import PrivacyRepository
from pushwise.store.profiles import ProfileReader
from pushwise.store.sealing import Sealer
from pushwise.store.uplift_models import UpliftModelRepository
from pushwise.store.user_events import UserEventLog
from pushwise.store.users import UserRepository


@dataclass(frozen=True, slots=True)
class Stores:
    apps: AppRepository
    keys: KeyRepository
    users: UserRepository
    devices: DeviceRepository
    credentials: CredentialRepository
    user_events: UserEventLog
    profiles: ProfileReader
    feedback: FeedbackCounts
    experiments: ExperimentRepository
    categories: CategoryRepository
    preferences: PreferenceRepository
    privacy: PrivacyRepository
    audit: AuditLog
    uplift_models: UpliftModelRepository

    @classmethod
    def build(cls, services: Services) -> Stores:
        db, clock = services.db, services.clock
        return cls(
            AppRepository(db, clock),
            KeyRepository(db, clock),
            UserRepository(db, clock),
            DeviceRepository(db, clock),
            CredentialRepository(db, clock, Sealer(services.secret_key)),
            UserEventLog(db, services.audience.learning, late_window=services.audience.late_window),
            ProfileReader(db, services.audience.learning),
            FeedbackCounts(db),
            ExperimentRepository(db),
            CategoryRepository(db, clock),
            PreferenceRepository(db, clock),
            PrivacyRepository(db),
            AuditLog(db, clock),
            UpliftModelRepository(db),
        )


async def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


async def get_stores(request: Request) -> Stores:
    return cast(Stores, request.app.state.stores)


ServicesDep = Annotated[Services, Depends(get_services)]
StoresDep = Annotated[Stores, Depends(get_stores)]


async def managed_app(app_id: str, _principal: AppManager, stores: StoresDep) -> App:
    """The app in the path, for an admin or that app's own server key (404 otherwise)."""
    app = await stores.apps.get(app_id)
    if app is None:
        raise not_found("app")
    return app


ManagedApp = Annotated[App, Depends(managed_app)]

"""How stored credentials become provider adapters, one factory per channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushwise.delivery.providers import CredentialLoader, ProviderFactory
from pushwise.domain.china.vendors import VENDORS
from pushwise.domain.click_links import ClickLinks
from pushwise.domain.clock import Clock
from pushwise.domain.rate_limit import SlidingWindowLimit
from pushwise.providers.apns import ApnsCredentials, build_apns_provider
from pushwise.providers.base import Provider
from pushwise.providers.china.base import ClassLookup
from pushwise.providers.china.factory import build_vendor_provider
from pushwise.providers.email import build_email_provider
from pushwise.providers.fcm import FcmCredentials, build_fcm_provider, project_quota
from pushwise.providers.inbox import build_inbox_provider
from pushwise.providers.webhook import build_webhook_provider
from pushwise.providers.webpush import WebPushCredentials, build_webpush_provider
from pushwise.store.credentials import StoredCredentials
from pushwise.store.db import Database
from pushwise.store.inbox import InboxRepository
from pushwise.store.inbox_feed import InboxFeed
from pushwise.store.recipients import RecipientRepository

# Channels that work without stored credentials (the inbox lives in our own database).
BUILT_IN_CHANNELS = frozenset({"inbox"})
_BUILT_IN = StoredCredentials({}, {}, 0.0)


@dataclass(frozen=True)
class UserChannels:
    """What the user-addressed channels (inbox, e-mail, webhook) need beyond the clock."""

    db: Database
    secret_key: bytes
    public_base_url: str
    inbox_feed: InboxFeed


def channel_credentials(load: CredentialLoader) -> CredentialLoader:
    """Stored credentials, plus constant empty ones for built-in channels, so the registry builds them."""

    async def loaded(app_id: str, channel: str) -> StoredCredentials | None:
        stored = await load(app_id, channel)
        if stored is None and channel in BUILT_IN_CHANNELS:
            return _BUILT_IN
        return stored

    return loaded


def provider_factories(
    clock: Clock,
    *,
    timeout: float,
    apns_connections: int = 2,
    fcm_connections: int = 2,
    allow_private_endpoints: bool = False,
    user_channels: UserChannels | None = None,
    links: ClickLinks | None = None,
    vendor_classes: ClassLookup | None = None,
) -> dict[str, ProviderFactory]:
    """Factories for every channel; inbox, e-mail and webhook only when `user_channels` is given."""
    # FCM's quota belongs to the Firebase project, not to the app: apps (and rebuilt
    # providers after a key rotation) sending for one project share one limit.
    fcm_quotas: dict[str, SlidingWindowLimit] = {}

    def apns(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        credentials = ApnsCredentials(
            topic=public["topic"],
            environment=public.get("environment", "production"),
            team_id=public.get("team_id"),
            key_id=public.get("key_id"),
            private_key_pem=secret.get("private_key"),
            certificate_pem=secret.get("certificate"),
            certificate_key_pem=secret.get("certificate_key"),
            endpoint=public.get("endpoint"),
            ca_file=public.get("ca_file"),
        )
        return build_apns_provider(credentials, clock, connections=apns_connections, timeout=timeout)

    def fcm(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        credentials = FcmCredentials(
            secret["service_account"],
            endpoint=public.get("endpoint"),
            token_uri=public.get("token_uri"),
            ca_file=public.get("ca_file"),
        )
        quota = fcm_quotas.setdefault(public["project_id"], project_quota(clock))
        return build_fcm_provider(
            credentials, clock, connections=fcm_connections, timeout=timeout, quota=quota
        )

    def webpush(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        credentials = WebPushCredentials(public["subject"], secret["vapid_private_key"])
        return build_webpush_provider(
            credentials,
            clock,
            timeout=timeout,
            ca_file=public.get("ca_file"),
            allow_private_endpoints=allow_private_endpoints,
            links=links,
        )

    factories: dict[str, ProviderFactory] = {"apns": apns, "fcm": fcm, "webpush": webpush}
    factories.update({vendor: _vendor_factory(vendor, clock, timeout, vendor_classes) for vendor in VENDORS})
    if user_channels is not None:
        factories.update(
            _user_channel_factories(clock, user_channels, timeout, allow_private_endpoints, links)
        )
    return factories


def _vendor_factory(
    vendor: str, clock: Clock, timeout: float, classes: ClassLookup | None
) -> ProviderFactory:
    def build(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        return build_vendor_provider(vendor, public, secret, clock, timeout=timeout, classes=classes)

    return build


def _user_channel_factories(
    clock: Clock, deps: UserChannels, timeout: float, allow_private: bool, links: ClickLinks | None
) -> dict[str, ProviderFactory]:
    recipients = RecipientRepository(deps.db, clock)
    inbox = build_inbox_provider(InboxRepository(deps.db, clock), deps.inbox_feed)

    def email(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        return build_email_provider(
            public,
            secret,
            clock,
            recipients=recipients,
            secret_key=deps.secret_key,
            public_base_url=deps.public_base_url,
            timeout=timeout,
            allow_private=allow_private,
            links=links,
        )

    def webhook(public: dict[str, Any], secret: dict[str, Any]) -> Provider:
        return build_webhook_provider(
            public, secret, clock, recipients=recipients, allow_private=allow_private, timeout=timeout
        )

    # One inbox provider serves every app: it holds no connection, only the repository and feed.
    return {"inbox": lambda public, secret: inbox, "email": email, "webhook": webhook}

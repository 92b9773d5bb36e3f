"""How stored credentials become provider adapters, one factory per channel."""

from __future__ import annotations

from typing import Any

from pushwise.delivery.providers import ProviderFactory
from pushwise.domain.clock import Clock
from pushwise.domain.rate_limit import SlidingWindowLimit
from pushwise.providers.apns import ApnsCredentials, build_apns_provider
from pushwise.providers.base import Provider
from pushwise.providers.fcm import FcmCredentials, build_fcm_provider, project_quota
from pushwise.providers.webpush import WebPushCredentials, build_webpush_provider


def provider_factories(
    clock: Clock,
    *,
    timeout: float,
    apns_connections: int = 2,
    fcm_connections: int = 2,
    allow_private_endpoints: bool = False,
) -> dict[str, ProviderFactory]:
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
        )

    return {"apns": apns, "fcm": fcm, "webpush": webpush}

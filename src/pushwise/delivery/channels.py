"""How stored credentials become provider adapters, one factory per channel."""

from __future__ import annotations

from typing import Any

from pushwise.delivery.providers import ProviderFactory
from pushwise.domain.clock import Clock
from pushwise.providers.apns import ApnsCredentials, build_apns_provider
from pushwise.providers.base import Provider


def provider_factories(
    clock: Clock, *, timeout: float, apns_connections: int = 2
) -> dict[str, ProviderFactory]:
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

    return {"apns": apns}

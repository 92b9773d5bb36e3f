"""Are an app's provider credentials usable, and for how long?

Checked with the same loaders the providers use, so a key that passes here is one
the provider can sign with. Certificates report their expiry; keys never expire
by themselves. (FCM offers a `validate_only` dry-run send, but it needs a real
device token: the local check stops at loading the service-account key.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pushwise.domain.china.vendors import is_vendor
from pushwise.domain.clock import Clock
from pushwise.monitoring.rules import CredentialStatus
from pushwise.providers.apns_auth import CredentialsError, ProviderTokens, load_certificate_identity
from pushwise.providers.china.factory import vendor_identity
from pushwise.providers.google_oauth import ServiceAccount, ServiceAccountError
from pushwise.providers.vapid import VapidKeyError, load_vapid_private_key
from pushwise.store.alerts import AlertRepository, CredentialHealthRow
from pushwise.store.credentials import CredentialRepository

log = logging.getLogger(__name__)
EXPIRING_SECONDS = 30 * 86400.0  # shown as "expiring" on the dashboard; alert rules pick their own limit


def check_credentials(
    channel: str, public: Mapping[str, Any], secret: Mapping[str, Any], clock: Clock
) -> CredentialStatus:
    try:
        expires_at, detail = _check(channel, public, secret, clock)
    except (CredentialsError, ServiceAccountError, VapidKeyError, KeyError, TypeError, ValueError) as error:
        return CredentialStatus(channel, "invalid", str(error) or type(error).__name__, None)
    if expires_at is not None and expires_at <= clock.now():
        return CredentialStatus(channel, "invalid", f"{detail}: expired", expires_at)
    if expires_at is not None and expires_at - clock.now() < EXPIRING_SECONDS:
        days = (expires_at - clock.now()) / 86400
        return CredentialStatus(channel, "expiring", f"{detail}: expires in {days:.0f} days", expires_at)
    return CredentialStatus(channel, "ok", detail, expires_at)


def _check(
    channel: str, public: Mapping[str, Any], secret: Mapping[str, Any], clock: Clock
) -> tuple[float | None, str]:
    if channel == "apns" and secret.get("certificate"):
        identity = load_certificate_identity(secret["certificate"], secret["certificate_key"])
        return identity.expires_at.timestamp(), f"certificate {identity.subject}"
    if channel == "apns":
        tokens = ProviderTokens(
            team_id=public["team_id"],
            key_id=public["key_id"],
            private_key_pem=secret["private_key"],
            clock=clock,
        )
        tokens.bearer()  # signs a provider token: the dry-run APNs token auth allows without sending
        return None, f"signing key {public['key_id']}"
    if channel == "fcm":
        account = ServiceAccount.from_json(secret["service_account"])
        return None, f"service account {account.client_email}"
    if channel == "webpush":
        load_vapid_private_key(secret["vapid_private_key"])
        return None, "VAPID key"
    if is_vendor(channel):
        # Checked against the vendor's auth endpoint when configured; here: complete and usable.
        return None, vendor_identity(channel, public, secret)
    return None, "no check for this channel"


async def check_all(alerts: AlertRepository, credentials: CredentialRepository, clock: Clock) -> None:
    """Check every configured channel of every app and store the results."""
    rows = []
    for app_id, channel in await alerts.configured_channels():
        try:
            stored = await credentials.get(app_id, channel)
        except Exception as error:  # a secret sealed with another key: unusable until re-entered
            log.warning("cannot open credentials of %s/%s: %s", app_id, channel, error)
            status = CredentialStatus(channel, "invalid", "stored secret cannot be opened", None)
        else:
            if stored is None:
                continue
            status = check_credentials(channel, stored.public, stored.secret, clock)
        rows.append(
            CredentialHealthRow(app_id, channel, status.status, status.detail, status.expires_at, clock.now())
        )
    await alerts.put_health(rows)

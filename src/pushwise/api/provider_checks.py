"""Check provider credentials before storing them, with the same code that will use them.

A wrong key or an expired certificate found here is a 422 the operator can fix
now; found by the delivery engine, it would be a configuration error per send.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from cryptography import x509
from pydantic import BaseModel

from pushwise.api.errors import ApiError
from pushwise.api.schemas.providers import ApnsIn, FcmIn, WebPushIn
from pushwise.domain.clock import Clock
from pushwise.domain.endpoints import EndpointRefused
from pushwise.net.endpoint_guard import check_public_endpoint
from pushwise.providers.apns_auth import CredentialsError, ProviderTokens, load_certificate_identity
from pushwise.providers.google_oauth import ServiceAccount, ServiceAccountError
from pushwise.providers.vapid import (
    VapidKeyError,
    generate_vapid_keys,
    load_vapid_private_key,
    validate_subject,
)
from pushwise.providers.webpush import WebPushCredentials

_APPLE_ID = re.compile(r"[A-Za-z0-9]{10}")
_BUNDLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*")
_TOKEN_FIELDS = ("team_id", "key_id", "private_key")
_CERTIFICATE_FIELDS = ("certificate", "certificate_key")
MAX_CA_FILE_BYTES = 1_048_576

Config = dict[str, Any]


async def check_apns(body: ApnsIn, *, allow_private: bool, clock: Clock) -> tuple[Config, Config]:
    """The (public config, secret) to store, or an `ApiError` naming the first problem."""
    if not _BUNDLE_ID.fullmatch(body.topic):
        raise _invalid(
            "invalid_topic", "topic must be the app's bundle id, such as com.example.shop", "topic"
        )
    public: Config = {"topic": body.topic, "environment": body.environment}
    token_given = [name for name in _TOKEN_FIELDS if getattr(body, name) is not None]
    certificate_given = [name for name in _CERTIFICATE_FIELDS if getattr(body, name) is not None]
    if token_given and certificate_given:
        raise _invalid(
            "conflicting_auth",
            "give either token auth (team_id, key_id, private_key) "
            "or certificate auth (certificate, certificate_key), not both",
        )
    if token_given:
        public, secret = _token_auth(body, public, clock)
    elif certificate_given:
        public, secret = _certificate_auth(body, public, clock)
    else:
        raise _invalid(
            "missing_credentials",
            "give team_id, key_id and private_key (token auth) "
            "or certificate and certificate_key (certificate auth)",
        )
    await check_overrides(public, body, ("endpoint",), allow_private=allow_private)
    return public, secret


async def check_fcm(body: FcmIn, *, allow_private: bool) -> tuple[Config, Config]:
    """Parse the service account as the provider will (RSA key, client_email, project_id)."""
    try:
        account = ServiceAccount.from_json(body.service_account)
    except ServiceAccountError as error:
        raise _invalid("invalid_service_account", str(error), "service_account") from error
    public: Config = {"project_id": account.project_id, "client_email": account.client_email}
    await check_overrides(public, body, ("endpoint", "token_uri"), allow_private=allow_private)
    return public, {"service_account": body.service_account}


async def check_webpush(body: WebPushIn) -> tuple[Config, Config]:
    """Keep the given VAPID key or make one: subscriptions are bound to it, so it is made once."""
    try:
        validate_subject(body.subject)
    except ValueError as error:
        raise _invalid("invalid_subject", str(error), "subject") from error
    private_key = body.vapid_private_key
    if private_key is None:
        private_key, _ = generate_vapid_keys()
    try:
        load_vapid_private_key(private_key)
    except VapidKeyError as error:
        raise _invalid("invalid_vapid_key", str(error), "vapid_private_key") from error
    public_key = WebPushCredentials(body.subject, private_key).vapid_public_key
    public: Config = {"subject": body.subject, "vapid_public_key": public_key}
    if body.ca_file is not None:
        await asyncio.to_thread(_check_ca_file, body.ca_file)
        public["ca_file"] = body.ca_file
    return public, {"vapid_private_key": private_key}


async def check_overrides(
    public: Config, body: BaseModel, urls: tuple[str, ...], *, allow_private: bool
) -> None:
    """Endpoint overrides follow the SSRF rule of every outbound destination (API.md, Operations)."""
    for name in urls:
        url = getattr(body, name, None)
        if url is None:
            continue
        try:
            await check_public_endpoint(url, allow_private=allow_private)
        except EndpointRefused as error:
            raise _invalid(error.code, error.message, name) from error
        public[name] = url
    ca_file = getattr(body, "ca_file", None)
    if ca_file is not None:
        await asyncio.to_thread(_check_ca_file, ca_file)
        public["ca_file"] = ca_file


def _required(body: ApnsIn, names: tuple[str, ...], mode: str) -> list[str]:
    values: list[str] = []
    for name in names:
        value = getattr(body, name)
        if value is None:
            raise _invalid("missing_field", f"{mode} needs {name}", name)
        values.append(value)
    return values


def _token_auth(body: ApnsIn, public: Config, clock: Clock) -> tuple[Config, Config]:
    team_id, key_id, private_key = _required(body, _TOKEN_FIELDS, "token auth")
    for name, value in (("team_id", team_id), ("key_id", key_id)):
        if not _APPLE_ID.fullmatch(value):
            raise _invalid("invalid_identifier", f"{name} is 10 letters or digits, as shown by Apple", name)
    try:
        ProviderTokens(team_id=team_id, key_id=key_id, private_key_pem=private_key, clock=clock).bearer()
    except CredentialsError as error:
        raise _invalid("invalid_private_key", str(error), "private_key") from error
    return {**public, "auth": "token", "team_id": team_id, "key_id": key_id}, {"private_key": private_key}


def _certificate_auth(body: ApnsIn, public: Config, clock: Clock) -> tuple[Config, Config]:
    certificate, certificate_key = _required(body, _CERTIFICATE_FIELDS, "certificate auth")
    try:
        identity = load_certificate_identity(certificate, certificate_key)
    except CredentialsError as error:
        raise _invalid("invalid_certificate", str(error), "certificate") from error
    not_after = identity.expires_at.timestamp()
    if not_after <= clock.now():
        expired = identity.expires_at.isoformat()
        raise _invalid(
            "certificate_expired", f"the certificate expired at {expired} (not_after)", "certificate"
        )
    config = {
        **public,
        "auth": "certificate",
        "certificate_subject": identity.subject,
        "certificate_expires_at": not_after,
    }
    return config, {"certificate": certificate, "certificate_key": certificate_key}


def _check_ca_file(path: str) -> None:
    """One message whether the file is missing or unreadable: this is not a file-probing service."""
    refusal = _invalid(
        "invalid_ca_file", "ca_file must name a readable PEM certificate file on the server", "ca_file"
    )
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_CA_FILE_BYTES + 1)
        if len(data) > MAX_CA_FILE_BYTES:
            raise refusal
        x509.load_pem_x509_certificates(data)
    except (OSError, ValueError) as error:
        raise refusal from error


def _invalid(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(422, code, message, field)

from __future__ import annotations

import datetime

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pushwise.domain.clock import ManualClock
from pushwise.providers.apns_auth import (
    CredentialsError,
    ProviderTokens,
    load_certificate_identity,
)


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _tokens(key: ec.EllipticCurvePrivateKey, clock: ManualClock) -> ProviderTokens:
    return ProviderTokens(team_id="TEAM123456", key_id="KEY1234567", private_key_pem=_pem(key), clock=clock)


def test_token_is_es256_with_kid_iss_and_iat(signing_key: ec.EllipticCurvePrivateKey) -> None:
    clock = ManualClock(1_800_000_000.0)
    bearer = _tokens(signing_key, clock).bearer()
    assert bearer.startswith("bearer ")
    token = bearer.removeprefix("bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY1234567", "typ": "JWT"}
    claims = jwt.decode(token, signing_key.public_key(), algorithms=["ES256"], options={"verify_iat": False})
    assert claims == {"iss": "TEAM123456", "iat": 1_800_000_000}


def test_token_is_reused_for_fifty_minutes_then_replaced(signing_key: ec.EllipticCurvePrivateKey) -> None:
    clock = ManualClock()
    tokens = _tokens(signing_key, clock)
    first = tokens.bearer()
    clock.advance(49 * 60)
    assert tokens.bearer() == first
    clock.advance(60)
    second = tokens.bearer()
    assert second != first
    assert tokens.minted == 2


def test_a_rejected_token_is_replaced_once_however_many_streams_saw_it(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    clock = ManualClock()
    tokens = _tokens(signing_key, clock)
    rejected = tokens.bearer()
    clock.advance(1)  # a new iat, so the replacement differs from the rejected token
    replacement = tokens.refresh_rejected(rejected)
    assert replacement != rejected
    assert [tokens.refresh_rejected(rejected) for _ in range(5)] == [replacement] * 5
    assert tokens.minted == 2


def test_refreshing_more_often_than_every_twenty_minutes_is_refused(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    with pytest.raises(ValueError, match="20 minutes"):
        ProviderTokens(
            team_id="T",
            key_id="K",
            private_key_pem=_pem(signing_key),
            clock=ManualClock(),
            refresh_after=60.0,
        )


def test_unreadable_or_wrong_keys_are_credentials_errors() -> None:
    with pytest.raises(CredentialsError, match="PEM"):
        ProviderTokens(team_id="T", key_id="K", private_key_pem="not a key", clock=ManualClock())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(CredentialsError, match="P-256"):
        ProviderTokens(team_id="T", key_id="K", private_key_pem=_pem(rsa_key), clock=ManualClock())
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(CredentialsError, match="P-256"):
        ProviderTokens(team_id="T", key_id="K", private_key_pem=_pem(p384), clock=ManualClock())


def _certificate(key: ec.EllipticCurvePrivateKey, not_after: datetime.datetime) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.app")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(not_after - datetime.timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def test_certificate_identity_exposes_expiry_and_bundles_cert_and_key(
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    not_after = datetime.datetime(2031, 5, 1, 12, 0, tzinfo=datetime.UTC)
    identity = load_certificate_identity(_certificate(signing_key, not_after), _pem(signing_key))
    assert identity.expires_at == not_after
    assert "com.example.app" in identity.subject
    assert b"BEGIN CERTIFICATE" in identity.identity_pem
    assert b"BEGIN PRIVATE KEY" in identity.identity_pem


def test_certificate_with_someone_elses_key_is_refused(signing_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = _certificate(signing_key, datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC))
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CredentialsError, match="does not match"):
        load_certificate_identity(certificate, _pem(other))
    with pytest.raises(CredentialsError, match="not readable"):
        load_certificate_identity("garbage", _pem(other))

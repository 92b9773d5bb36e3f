"""Provider-token (JWT) checks of the APNs simulator."""

from __future__ import annotations

import jwt
import pytest

from pushwise.simulators.apns.auth import ProviderTokenVerifier, SigningKey, new_signing_key

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_signing_key()


def _bearer(key: SigningKey, *, iat: float = NOW, iss: str | None = None, kid: str | None = None) -> str:
    claims = {"iss": iss or key.team_id, "iat": int(iat)}
    token = jwt.encode(claims, key.private_key_pem, algorithm="ES256", headers={"kid": kid or key.key_id})
    return f"bearer {token}"


def _verifier(key: SigningKey) -> ProviderTokenVerifier:
    return ProviderTokenVerifier(key.team_id, {key.key_id: key.public_key_pem()})


def test_generated_ids_look_like_apples() -> None:
    key = new_signing_key()
    assert len(key.team_id) == 10
    assert len(key.key_id) == 10
    assert key.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_a_fresh_token_is_accepted(key: SigningKey) -> None:
    assert _verifier(key).problem(_bearer(key), NOW + 10) is None


@pytest.mark.parametrize("authorization", [None, "", "basic abc", "bearer "])
def test_missing_token(key: SigningKey, authorization: str | None) -> None:
    assert _verifier(key).problem(authorization, NOW) == "MissingProviderToken"


def test_signature_by_another_key_is_invalid(key: SigningKey) -> None:
    impostor = new_signing_key()
    forged = _bearer(SigningKey(key.team_id, key.key_id, impostor.private_key_pem))
    assert _verifier(key).problem(forged, NOW) == "InvalidProviderToken"


@pytest.mark.parametrize("change", [{"iss": "OTHERTEAM1"}, {"kid": "UNKNOWNKID"}])
def test_wrong_team_or_unknown_key_is_invalid(key: SigningKey, change: dict[str, str]) -> None:
    assert _verifier(key).problem(_bearer(key, **change), NOW) == "InvalidProviderToken"


def test_garbage_is_invalid(key: SigningKey) -> None:
    assert _verifier(key).problem("bearer not.a.jwt", NOW) == "InvalidProviderToken"


def test_token_older_than_an_hour_is_expired_even_when_cached(key: SigningKey) -> None:
    verifier = _verifier(key)
    bearer = _bearer(key)
    assert verifier.problem(bearer, NOW + 3599) is None
    assert verifier.problem(bearer, NOW + 3601) == "ExpiredProviderToken"


def test_age_check_can_be_switched_off_for_simulated_clocks(key: SigningKey) -> None:
    verifier = _verifier(key)
    verifier.max_age_s = None
    assert verifier.problem(_bearer(key), NOW + 86_400) is None


def test_token_from_the_future_is_invalid(key: SigningKey) -> None:
    assert _verifier(key).problem(_bearer(key, iat=NOW + 600), NOW) == "InvalidProviderToken"


def test_verification_is_cached_per_token_string(key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = _verifier(key)
    bearer = _bearer(key)
    assert verifier.problem(bearer, NOW) is None
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("verified twice"))
    assert verifier.problem(bearer, NOW + 1) is None

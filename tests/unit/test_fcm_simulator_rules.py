"""The FCM simulator's pure parts: message checks, the OAuth2 grant, fault settings."""

from __future__ import annotations

from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization

from pushwise.providers.google_oauth import FCM_SCOPE, JWT_BEARER_GRANT
from pushwise.simulators.apns.faults import FaultConfigError
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.oauth import TokenIssuer, new_service_account
from pushwise.simulators.fcm.validation import check_send_body

TOKEN = "c" * 40
AUDIENCE = "https://127.0.0.1:9/token"
NOW = 1_800_000_000.0
ACCOUNT = new_service_account("shop", AUDIENCE)


def body(**message: Any) -> bytes:
    return orjson.dumps({"message": {"token": TOKEN, **message}})


def test_a_valid_message_passes() -> None:
    checked = check_send_body(body(notification={"title": "t"}, data={"a": "1"}, android={"ttl": "3.5s"}))
    assert (checked.token, checked.rejection) == (TOKEN, None)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "Invalid JSON"),
        (orjson.dumps({"msg": {}}), "missing 'message'"),
        (orjson.dumps({"message": {"data": {}}}), "Recipient of the message is not set"),
        (body(data={"n": 1}), "TYPE_STRING"),
        (body(data={"google.x": "1"}), "Invalid data payload key"),
        (body(android={"ttl": "86400"}), "message.android.ttl"),
        (body(android={"ttl": "2419201s"}), "at most 4 weeks"),
        (body(android={"priority": "URGENT"}), "message.android.priority"),
        (body(colour="red"), 'Unknown name "colour"'),
        (body(data={"x": "y" * 4096}), "Message is too big"),
    ],
)
def test_messages_fcm_refuses(raw: bytes, words: str) -> None:
    rejection = check_send_body(raw).rejection
    assert rejection is not None
    assert words in rejection.message


def test_a_malformed_token_is_blamed_on_the_token_field() -> None:
    rejection = check_send_body(orjson.dumps({"message": {"token": "short"}})).rejection
    assert rejection is not None
    assert rejection.violations == {"message.token": "Invalid registration token"}


def issuer() -> TokenIssuer:
    key_file = ACCOUNT.key_file
    return TokenIssuer(
        client_email=key_file["client_email"],
        public_keys={key_file["private_key_id"]: ACCOUNT.public_key_pem},
        audience=AUDIENCE,
    )


def assertion(**claims: Any) -> bytes:
    key_file = ACCOUNT.key_file
    key = serialization.load_pem_private_key(key_file["private_key"].encode(), password=None)
    full = {
        "iss": key_file["client_email"],
        "scope": FCM_SCOPE,
        "aud": AUDIENCE,
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
        **claims,
    }
    signed = jwt.encode(full, key, algorithm="RS256", headers={"kid": key_file["private_key_id"]})
    return f"grant_type={JWT_BEARER_GRANT}&assertion={signed}".encode()


def test_a_good_assertion_earns_an_access_token_valid_until_it_expires() -> None:
    tokens = issuer()
    grant = tokens.grant(assertion(), NOW, lifetime_s=3600, check_time=True)
    answer = orjson.loads(grant.body)
    assert (grant.status, answer["expires_in"], answer["token_type"]) == (200, 3600, "Bearer")
    bearer = "Bearer " + answer["access_token"]
    assert tokens.is_valid(bearer, NOW + 3599)
    assert not tokens.is_valid(bearer, NOW + 3600)
    assert not tokens.is_valid("Bearer made-up", NOW)
    tokens.expire_all()
    assert not tokens.is_valid(bearer, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://elsewhere/token"},
        {"iss": "intruder@x.iam.gserviceaccount.com"},
        {"scope": "email"},
        {"exp": int(NOW) + 7200},
        {"iat": int(NOW) - 7200, "exp": int(NOW) - 3600},
    ],
)
def test_bad_assertions_are_refused_with_invalid_grant(claims: dict[str, Any]) -> None:
    grant = issuer().grant(assertion(**claims), NOW, lifetime_s=3600, check_time=True)
    assert (grant.status, orjson.loads(grant.body)["error"]) == (400, "invalid_grant")


def test_assertion_time_is_not_checked_for_callers_on_a_simulated_clock() -> None:
    stale = assertion(iat=int(NOW) - 7200, exp=int(NOW) - 3600)
    assert issuer().grant(stale, NOW, lifetime_s=60, check_time=False).status == 200


def test_another_key_is_refused() -> None:
    other = new_service_account("shop", AUDIENCE).key_file
    key = serialization.load_pem_private_key(other["private_key"].encode(), password=None)
    claims = {
        "iss": ACCOUNT.key_file["client_email"],
        "scope": FCM_SCOPE,
        "aud": AUDIENCE,
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
    }
    signed = jwt.encode(claims, key, algorithm="RS256", headers={"kid": ACCOUNT.key_file["private_key_id"]})
    grant = issuer().grant(
        f"grant_type={JWT_BEARER_GRANT}&assertion={signed}".encode(), NOW, lifetime_s=60, check_time=True
    )
    assert grant.status == 400


@pytest.mark.parametrize(
    "raw",
    [{"error_codes": {"NOPE": 0.1}}, {"error_codes": {"INTERNAL": 0.7, "UNAVAILABLE": 0.7}}, {"typo": 1}],
)
def test_fault_settings_that_cannot_be_meant_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(FaultConfigError):
        parse_fcm_faults(raw)

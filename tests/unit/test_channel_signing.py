"""Webhook/receipt signatures and the signed user and unsubscribe tokens."""

from __future__ import annotations

import pytest

from pushwise.domain.signatures import SignatureInvalid, sign, signature, verify
from pushwise.domain.signed_tokens import (
    TokenExpired,
    TokenInvalid,
    issue_unsubscribe_token,
    issue_user_token,
    open_unsubscribe_token,
    open_user_token,
)

SECRET = "whsec-test"
BODY = b'{"events":[]}'
KEY = b"server-secret-key"


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, 1700000000) == f"t=1700000000,v1={expected}"


def test_verify_accepts_fresh_and_rotated_signatures() -> None:
    header = sign(SECRET, BODY, 1000)
    assert verify(SECRET, BODY, header, now=1100) == 1000
    rotated = f"t=1000,v1={signature('old-secret', BODY, 1000)},v1={signature(SECRET, BODY, 1000)}"
    assert verify(SECRET, BODY, rotated, now=1000) == 1000


@pytest.mark.parametrize(
    ("header", "body", "now"),
    [
        (None, BODY, 1000),
        ("v1=abc", BODY, 1000),
        ("t=1000", BODY, 1000),
        (sign(SECRET, BODY, 1000), BODY + b" ", 1000),  # tampered body
        (sign("other", BODY, 1000), BODY, 1000),  # wrong secret
        (sign(SECRET, BODY, 1000), BODY, 1301),  # replayed after the tolerance
        (sign(SECRET, BODY, 1000), BODY, 699),  # from the future
    ],
)
def test_verify_rejects(header: str | None, body: bytes, now: float) -> None:
    with pytest.raises(SignatureInvalid):
        verify(SECRET, body, header, now=now)


def test_user_tokens_carry_app_user_and_expiry() -> None:
    token = issue_user_token(KEY, "app_1", "ada", 2000)
    assert open_user_token(KEY, token, now=1999) == ("app_1", "ada")
    with pytest.raises(TokenExpired):
        open_user_token(KEY, token, now=2000)
    with pytest.raises(TokenInvalid):
        open_user_token(b"another key", token, now=0)
    payload, mac = token.split(".")
    with pytest.raises(TokenInvalid):
        open_user_token(KEY, payload[:-2] + "AA." + mac, now=0)


def test_tokens_of_one_purpose_never_open_as_another() -> None:
    unsubscribe = issue_unsubscribe_token(KEY, "app_1", "usr_1")
    assert open_unsubscribe_token(KEY, unsubscribe, now=10**10) == ("app_1", "usr_1")
    with pytest.raises(TokenInvalid):
        open_user_token(KEY, unsubscribe, now=0)
    with pytest.raises(TokenInvalid):
        open_unsubscribe_token(KEY, issue_user_token(KEY, "app_1", "usr_1", 10**10), now=0)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b", "e30.", "!!.??"])
def test_malformed_tokens_are_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        open_user_token(KEY, garbage, now=0)

"""`X-Pushwise-User-Token`: what lets a client key act for one user of its own app.

A client key ships inside apps, so anyone can hold one; a user id alone would let
any holder read anyone's inbox or attach devices to anyone. The app's backend,
which knows who is signed in, asks pushwise for a short-lived token bound to the
app and the user (`POST /v1/users/{external_id}/token`) and hands it to its client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from pushwise.api.auth import Principal
from pushwise.api.errors import ApiError
from pushwise.domain.signed_tokens import TokenExpired, TokenInvalid, open_user_token

USER_TOKEN_HEADER = "X-Pushwise-User-Token"  # noqa: S105 - a header name, not a secret

UserTokenHeader = Annotated[
    str | None,
    Header(
        alias=USER_TOKEN_HEADER,
        description="A user token from `POST /v1/users/{external_id}/token` (client keys only).",
    ),
]


def token_user(principal: Principal, token: str | None, *, secret_key: bytes, now: float) -> str:
    """The external user id the token speaks for, in the principal's own app; 401/403 otherwise."""
    if not token:
        raise ApiError(401, "user_token_required", f"send the user's token in {USER_TOKEN_HEADER}")
    try:
        app_id, external_id = open_user_token(secret_key, token, now=now)
    except TokenExpired as error:
        raise ApiError(401, "user_token_expired", "the user token has expired: get a new one") from error
    except TokenInvalid as error:
        raise ApiError(401, "invalid_user_token", "the user token is not valid") from error
    if app_id != principal.app_id_required:
        raise ApiError(403, "forbidden_user_token", "the user token belongs to another app")
    return external_id

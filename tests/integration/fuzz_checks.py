"""Schemathesis checks of pushwise's own contract, loaded by `api_fuzz` (SCHEMATHESIS_HOOKS).

Every answer of 400 or above must be pushwise's JSON error, `{"error": {"code", "message"}}` with
strings, whatever the schema documents, so a client can always read why it was refused.
"""

from __future__ import annotations

import schemathesis


@schemathesis.check
def error_in_documented_format(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    if response.status_code < 400:
        return None
    status = response.status_code
    try:
        body = response.json()
    except ValueError as error:
        raise AssertionError(f"error answer {status} is not JSON: {response.text[:200]!r}") from error
    error = body.get("error") if isinstance(body, dict) else None
    fields = (error.get("code"), error.get("message")) if isinstance(error, dict) else (None, None)
    if not all(isinstance(value, str) for value in fields):
        raise AssertionError(
            f"error answer {status} is not {{'error': {{'code', 'message'}}}}: {body!r:.200}"
        )
    return True

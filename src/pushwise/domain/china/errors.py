"""The vendors' answers mapped onto the shared outcomes (DESIGN.md section 4), per token.

A vendor answers a batch of up to 1,000 tokens at once, and may refuse some of
them only (Huawei 80100000 lists the illegal tokens, Honor `expireTokens`, OPPO's
batch items, vivo's `invalidUsers`), so a classification is one outcome for the
batch plus exceptions per token.

Tables hold the codes `docs/china.md` lists with their sources. A code no source
confirms is handled generically: HTTP 5xx and 429 retry later, HTTP 401 refreshes
the credentials once, anything else is permanent; its code and text are kept as the
outcome's reason (`<vendor>:<code>`), so an operator can look it up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushwise.domain.outcomes import Outcome, OutcomeKind

PAYLOAD_TOO_LARGE = "PayloadTooLarge"  # the engine's word: it tries smaller content


@dataclass(frozen=True, slots=True)
class VendorAnswer:
    """One outcome for every token of a request, except those named in `tokens`."""

    outcome: Outcome
    tokens: dict[str, Outcome] = field(default_factory=dict)

    def for_token(self, token: str) -> Outcome:
        return self.tokens.get(token, self.outcome)


K = OutcomeKind

HUAWEI_CODES: dict[str, OutcomeKind] = {
    "80000000": K.DELIVERED,
    "80300007": K.TOKEN_DEAD,  # all tokens invalid (or token/app mismatch: check client_id)
    "80200001": K.REFRESH_CREDENTIALS,  # OAuth authentication error
    "80200003": K.REFRESH_CREDENTIALS,  # OAuth token expired
    "80300002": K.CONFIGURATION,  # the app may not send to these tokens
    "80600003": K.CONFIGURATION,  # OAuth request failed
    "80100003": K.PERMANENT,  # malformed message
    "80100004": K.PERMANENT,  # bad TTL
    "80100013": K.PERMANENT,  # bad collapse_key
    "80300008": K.PERMANENT,  # body over 4096 bytes
    "80300010": K.PERMANENT,  # too many tokens
    "80300011": K.PERMANENT,  # high-priority message without permission
    "80100016": K.PERMANENT,  # sensitive words
    "81000001": K.RETRY,  # internal error
}
HUAWEI_TOO_LARGE = frozenset({"80300008"})

XIAOMI_CODES: dict[int, OutcomeKind] = {
    0: K.DELIVERED,
    21301: K.CONFIGURATION,  # authentication failed: bad AppSecret
    10027: K.RETRY,  # API called too often
    10034: K.QUOTA_SPENT,  # too many messages today
    200001: K.QUOTA_SPENT,  # exceed quota
    10031: K.CONFIGURATION,  # app blacklisted
    22022: K.CONFIGURATION,  # bad package name
    27001: K.CONFIGURATION,  # channel does not match
    10008: K.PERMANENT,
    10016: K.PERMANENT,
    10017: K.PERMANENT,
    65009: K.PERMANENT,
    1: K.RETRY,
    10001: K.RETRY,
    10002: K.RETRY,
    10003: K.RETRY,
    26003: K.RETRY,
}
# Not a verified code, only this reason text: every regId of the request is invalid.
XIAOMI_NO_VALID_TARGETS = "No valid targets!"

OPPO_CODES: dict[int, OutcomeKind] = {
    0: K.DELIVERED,
    -2: K.RETRY,  # flow control
    -1: K.RETRY,  # service unavailable
    11: K.REFRESH_CREDENTIALS,  # invalid auth_token
    29: K.REFRESH_CREDENTIALS,  # auth_token missing
    13: K.RETRY,  # call limit
    55: K.RETRY,  # frequency limit
    33: K.QUOTA_SPENT,  # daily message limit
    14: K.CONFIGURATION,
    15: K.CONFIGURATION,
    16: K.CONFIGURATION,
    26: K.CONFIGURATION,
    27: K.CONFIGURATION,
    28: K.CONFIGURATION,
    30: K.CONFIGURATION,
    40: K.PERMANENT,
    41: K.PERMANENT,
    51: K.PERMANENT,
    67: K.PERMANENT,  # category or notify_level invalid
    10000: K.TOKEN_DEAD,  # invalid registration_id
}

VIVO_CODES: dict[int, OutcomeKind] = {
    0: K.DELIVERED,
    10096: K.PERMANENT,  # bad category
    10097: K.PERMANENT,  # category does not match classification
}
# `invalidUser.status`: 1 unknown regId, 2 uninstalled or unsubscribed, 4 not a test user.
VIVO_INVALID_USER: dict[int, OutcomeKind] = {1: K.TOKEN_DEAD, 2: K.TOKEN_DEAD, 4: K.CONFIGURATION}

HONOR_SUCCESS = 200  # Honor's error table was not found: every other code is handled generically


def generic(vendor: str, status: int, code: object) -> Outcome:
    """An answer no table knows: retry on 5xx/429, refresh on 401, else permanent."""
    if status == 401:
        kind = K.REFRESH_CREDENTIALS
    elif status == 429 or status >= 500:
        kind = K.RETRY
    else:
        kind = K.PERMANENT
    reason = f"{vendor}:{code}" if code not in (None, "") else f"{vendor}:HTTP{status}"
    return Outcome(kind, reason, status)


def _outcome(
    vendor: str, kind: OutcomeKind, code: object, status: int, message_id: str | None = None
) -> Outcome:
    if kind is K.DELIVERED:
        return Outcome(K.DELIVERED, "", status, None, message_id)
    return Outcome(kind, f"{vendor}:{code}", status)


def classify_huawei(status: int, body: Mapping[str, Any] | None) -> VendorAnswer:
    """Push Kit answers `{code, msg, requestId}` with HTTP 200 for most refusals, too."""
    code = str((body or {}).get("code", ""))
    request_id = _text((body or {}).get("requestId"))
    if code == "80100000":  # partial success: msg lists the illegal tokens
        failed = _listed(body, "msg", "illegal_tokens")
        dead = _outcome("huawei", K.TOKEN_DEAD, code, status)
        return VendorAnswer(Outcome(K.DELIVERED, "", status, None, request_id), dict.fromkeys(failed, dead))
    if code in HUAWEI_TOO_LARGE:
        return VendorAnswer(Outcome(K.PERMANENT, PAYLOAD_TOO_LARGE, 413))
    kind = HUAWEI_CODES.get(code)
    if kind is None or (status != 200 and kind is K.DELIVERED):
        return VendorAnswer(generic("huawei", status, code))
    return VendorAnswer(_outcome("huawei", kind, code, status, request_id))


def classify_honor(status: int, body: Mapping[str, Any] | None) -> VendorAnswer:
    """`{code, message, data: {sendResult, requestId, failTokens, expireTokens}}`."""
    code = (body or {}).get("code")
    data = (body or {}).get("data")
    data = data if isinstance(data, dict) else {}
    if status != 200 or code != HONOR_SUCCESS:
        return VendorAnswer(generic("honor", status, code))
    tokens = dict.fromkeys(_strings(data.get("failTokens")), Outcome(K.PERMANENT, "honor:failTokens", status))
    tokens.update(
        dict.fromkeys(_strings(data.get("expireTokens")), Outcome(K.TOKEN_DEAD, "honor:expireTokens", status))
    )
    return VendorAnswer(Outcome(K.DELIVERED, "", status, None, _text(data.get("requestId"))), tokens)


def classify_xiaomi(status: int, body: Mapping[str, Any] | None) -> VendorAnswer:
    """`{result: "ok"|"error", code, data: {id}, description, reason}`."""
    body = body or {}
    code = body.get("code")
    if body.get("reason") == XIAOMI_NO_VALID_TARGETS or body.get("description") == XIAOMI_NO_VALID_TARGETS:
        return VendorAnswer(Outcome(K.TOKEN_DEAD, "xiaomi:NoValidTargets", status))
    kind = XIAOMI_CODES.get(code) if isinstance(code, int) else None
    if kind is None or (kind is K.DELIVERED and (status != 200 or body.get("result") != "ok")):
        return VendorAnswer(generic("xiaomi", status, code))
    data = body.get("data")
    message_id = _text(data.get("id")) if isinstance(data, dict) else None
    return VendorAnswer(_outcome("xiaomi", kind, code, status, message_id))


def classify_oppo(status: int, body: Mapping[str, Any] | None) -> VendorAnswer:
    """`{code, message, data}`; a batch's `data` is a list of items with their own `errorCode`."""
    code = (body or {}).get("code")
    kind = OPPO_CODES.get(code) if isinstance(code, int) else None
    if kind is None or (kind is K.DELIVERED and status != 200):
        return VendorAnswer(generic("oppo", status, code))
    data = (body or {}).get("data")
    if kind is not K.DELIVERED:
        return VendorAnswer(_outcome("oppo", kind, code, status))
    if isinstance(data, list):
        return VendorAnswer(Outcome(K.DELIVERED, "", status), _oppo_items(data, status))
    message_id = _text(data.get("messageId")) if isinstance(data, dict) else None
    return VendorAnswer(Outcome(K.DELIVERED, "", status, None, message_id))


def _oppo_items(items: list[Any], status: int) -> dict[str, Outcome]:
    found: dict[str, Outcome] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        token = _text(item.get("registrationId") or item.get("registration_id") or item.get("targetValue"))
        code = item.get("errorCode", 0)
        if token is None:
            continue
        if code in (0, None):
            found[token] = Outcome(K.DELIVERED, "", status, None, _text(item.get("messageId")))
            continue
        kind = OPPO_CODES.get(code) if isinstance(code, int) else None
        found[token] = _outcome("oppo", kind, code, status) if kind else generic("oppo", 400, code)
    return found


def classify_vivo(status: int, body: Mapping[str, Any] | None) -> VendorAnswer:
    """`{result, desc, taskId, invalidUser: {status}}` (one regId) or `invalidUsers: [{regId, status}]`."""
    body = body or {}
    code = body.get("result")
    single = body.get("invalidUser")
    if isinstance(single, dict) and isinstance(single.get("status"), int):
        return VendorAnswer(_vivo_invalid(single["status"], status))
    kind = VIVO_CODES.get(code) if isinstance(code, int) else None
    if kind is None or (kind is K.DELIVERED and status != 200):
        return VendorAnswer(generic("vivo", status, code))
    if kind is not K.DELIVERED:
        return VendorAnswer(_outcome("vivo", kind, code, status))
    tokens = {}
    for item in body.get("invalidUsers") or ():
        if isinstance(item, dict) and isinstance(item.get("status"), int) and item.get("regId"):
            tokens[str(item["regId"])] = _vivo_invalid(item["status"], status)
    return VendorAnswer(Outcome(K.DELIVERED, "", status, None, _text(body.get("taskId"))), tokens)


def _vivo_invalid(user_status: int, status: int) -> Outcome:
    kind = VIVO_INVALID_USER.get(user_status, K.PERMANENT)
    return Outcome(kind, f"vivo:invalidUser.status={user_status}", status)


def _listed(body: Mapping[str, Any] | None, key: str, member: str) -> list[str]:
    """Huawei puts a JSON object in a string (`msg`); the tokens are one of its lists."""
    raw = (body or {}).get(key)
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return []
    return _strings(raw.get(member)) if isinstance(raw, dict) else []


def _strings(raw: Any) -> list[str]:
    return [str(item) for item in raw] if isinstance(raw, list) else []


def _text(raw: Any) -> str | None:
    return str(raw) if raw not in (None, "") else None

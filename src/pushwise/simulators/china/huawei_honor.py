"""Simulated Huawei Push Kit v1 and Honor Push: OAuth 2.0 client credentials and batch sends.

Verified on every send: the bearer token (issued by this simulator, not expired), the
path's app (Huawei `client_id`, Honor `app_id`), 1-1,000 tokens, a title and body, the
class field (Huawei `android.category` from the published list, Honor `importance` LOW
or NORMAL), Honor's `timestamp` header, and Huawei's 4096-byte limit on the message
without its tokens. Dead tokens
answer Huawei 80300007 (all) or 80100000 (some, listed in `msg`) and Honor
`expireTokens`. Past the daily marketing cap both drop the push silently: neither
publishes a "quota spent" code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson

from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.china.service import SimulatedVendor, bearer, json_reply

HUAWEI_TOKEN_PATH = "/oauth2/v3/token"  # noqa: S105 - a path
HONOR_TOKEN_PATH = "/auth/realms/developer/protocol/openid-connect/token"  # noqa: S105 - a path
HUAWEI_CATEGORIES = frozenset(
    {
        "IM", "VOIP", "SUBSCRIPTION", "TRAVEL", "HEALTH", "WORK", "ACCOUNT", "EXPRESS", "FINANCE",
        "DEVICE_REMINDER", "MAIL", "PLAY_VOICE", "MARKETING", "SYSTEM_REMINDER",
    }
)  # fmt: skip
HONOR_IMPORTANCE = frozenset({"LOW", "NORMAL"})
MAX_TOKENS = 1000
MAX_BODY_BYTES = 4096


class OAuthVendor(SimulatedVendor):
    token_path: str

    def grant(self, body: bytes) -> Reply:
        form = {key: values[0] for key, values in parse_qs(body.decode(errors="replace")).items()}
        expected = self.account.credentials
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != expected["client_id"]
            or form.get("client_secret") != expected["client_secret"]
        ):
            self.refused_auth += 1
            return json_reply(400, {"error": 1101, "error_description": "invalid client"})
        lifetime = self.faults.token_lifetime_s
        return json_reply(
            200, {"access_token": self.issue_token(), "expires_in": lifetime, "token_type": "Bearer"}
        )


class SimulatedHuawei(OAuthVendor):
    vendor = "huawei"
    token_path = HUAWEI_TOKEN_PATH

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        if method == "POST" and path == self.token_path:
            return self.grant(body)
        if method != "POST" or path != f"/v1/{self.account.credentials['client_id']}/messages:send":
            return json_reply(404, {"code": "80300002", "msg": f"no route {method} {path}"})
        delay = self.begin_send()
        request = _json(body)
        message = _member(request, "message")
        tokens = [str(t) for t in message.get("token") or [] if isinstance(t, str)]
        code, msg = self._check(headers, body, message, tokens)
        status = 200
        if code == "":
            code, status, tokens_status = self._deliver(message, tokens)
            self._record_each(tokens_status, headers, body)
            if code == "80100000":
                dead = [t for t, s in tokens_status.items() if s == 410]
                msg = orjson.dumps(
                    {"success": len(tokens) - len(dead), "failure": len(dead), "illegal_tokens": dead}
                ).decode()
            return json_reply(
                status, {"code": code, "msg": msg or "Success", "requestId": self._request_id()}, delay
            )
        status = {"80200003": 401, "80200001": 401, "flow": 503}.get(code, 200)
        if code == "flow":
            code, msg = "80000001", "flow control"
        self.record(tokens, headers, body, status if status != 200 else 400, code)
        return json_reply(status, {"code": code, "msg": msg, "requestId": self._request_id()}, delay)

    def _check(
        self, headers: RequestHeaders, body: bytes, message: dict[str, Any], tokens: list[str]
    ) -> tuple[str, str]:
        if self.faults.outage:
            return "flow", "service unavailable"
        if not self.token_valid(bearer(headers)):
            return "80200003", "OAuth token expired"
        fault = self.faults.injected(self.rng)
        if fault == "token_expired":
            return "80200003", "OAuth token expired"
        if fault == "flow_control":
            return "flow", "flow control"
        if fault == "unavailable":
            return "81000001", "internal error"
        payload = {key: value for key, value in message.items() if key != "token"}
        if len(orjson.dumps(payload)) > MAX_BODY_BYTES:  # the message without its addresses
            return "80300008", "message body too large"
        if not tokens or len(tokens) > MAX_TOKENS:
            return "80300010", "the number of tokens must be 1 to 1000"
        android = _member(message, "android")
        notification = _member(android, "notification")
        if android.get("category") not in HUAWEI_CATEGORIES:
            return "80100003", "android.category is missing or not a published category"
        if not notification.get("title") or not notification.get("body"):
            return "80100003", "android.notification needs title and body"
        return "", ""

    def _deliver(self, message: dict[str, Any], tokens: list[str]) -> tuple[str, int, dict[str, int]]:
        marketing = message["android"]["category"] == "MARKETING"
        statuses = {t: 410 if self.faults.is_dead(t) else 200 for t in tokens}
        for token, status in statuses.items():
            if status == 200 and self.over_quota(token, marketing):
                self.dropped_by_quota += 1
                statuses[token] = 429
        dead = sum(1 for s in statuses.values() if s == 410)
        if dead == len(tokens):
            return "80300007", 200, statuses
        return ("80100000" if dead else "80000000"), 200, statuses

    def _record_each(self, statuses: dict[str, int], headers: RequestHeaders, body: bytes) -> None:
        for token, status in statuses.items():
            self.record([token], headers, body, status, "" if status == 200 else str(status))

    def _request_id(self) -> str:
        return f"{self.rng.getrandbits(48):012x}"


class SimulatedHonor(OAuthVendor):
    vendor = "honor"
    token_path = HONOR_TOKEN_PATH

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        if method == "POST" and path == self.token_path:
            return self.grant(body)
        if method != "POST" or path != f"/api/v1/{self.account.credentials['app_id']}/sendMessage":
            return json_reply(404, {"code": 404, "message": f"no route {method} {path}"})
        delay = self.begin_send()
        request = _json(body)
        tokens = [str(t) for t in request.get("token") or [] if isinstance(t, str)]
        status, code, message = self._check(headers, request, tokens)
        if status != 200:
            self.record(tokens, headers, body, status, str(code))
            return json_reply(status, {"code": code, "message": message}, delay)
        marketing = request["android"]["notification"].get("importance", "LOW") == "LOW"
        dead = [t for t in tokens if self.faults.is_dead(t)]
        for token in tokens:
            if token in dead:
                self.record([token], headers, body, 410, "expireTokens")
            elif self.over_quota(token, marketing):
                self.dropped_by_quota += 1
                self.record([token], headers, body, 429, "dropped")
            else:
                self.record([token], headers, body, 200, "")
        data = {
            "sendResult": True,
            "requestId": f"{self.rng.getrandbits(48):012x}",
            "failTokens": [],
            "expireTokens": dead,
        }
        return json_reply(200, {"code": 200, "message": "success", "data": data}, delay)

    def _check(
        self, headers: RequestHeaders, request: dict[str, Any], tokens: list[str]
    ) -> tuple[int, int, str]:
        if self.faults.outage:
            return 503, 503, "service unavailable"
        if not self.token_valid(bearer(headers)):
            return 401, 401, "access token invalid or expired"
        fault = self.faults.injected(self.rng)
        if fault == "token_expired":
            return 401, 401, "access token invalid or expired"
        if fault in ("flow_control", "unavailable"):
            return (503, 503, "flow control") if fault == "flow_control" else (500, 500, "internal error")
        if not str(headers.get("timestamp") or "").isdigit():
            return 400, 400, "the timestamp header is required"
        if "message" in request:
            return 400, 400, "Honor's body has no message wrapper"
        android = _member(request, "android")
        notification = _member(android, "notification")
        if not tokens or len(tokens) > MAX_TOKENS:
            return 400, 400, "token must list 1 to 1000 tokens"
        if not notification.get("title") or not notification.get("body"):
            return 400, 400, "android.notification needs title and body"
        if notification.get("importance", "LOW") not in HONOR_IMPORTANCE:
            return 400, 400, "importance is LOW or NORMAL"
        return 200, 200, ""


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _member(parent: dict[str, Any], name: str) -> dict[str, Any]:
    child = parent.get(name)
    return child if isinstance(child, dict) else {}

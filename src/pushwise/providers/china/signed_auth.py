"""The signed auth requests of OPPO and vivo, whose tokens the base provider caches.

OPPO: `POST {endpoint}/server/v1/auth`, form `app_key`, `timestamp` (ms) and
`sign = hex(sha256(app_key + timestamp + master_secret))` → `{code: 0, data: {auth_token}}`,
valid 24 hours. vivo: `POST {endpoint}/message/auth`, JSON `{appId, appKey, timestamp,
sign = md5(appId + appKey + timestamp + appSecret)}` (lower-case hex) → `{result: 0,
authToken}`, valid a day, and vivo asks senders to renew it every hour or two.
Timestamps are the injected clock's; both services refuse one more than 10 minutes off.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

import orjson

from pushwise.domain.clock import Clock
from pushwise.providers.china.base import FORM, JSON, granted, json_object
from pushwise.providers.token_cache import TokenCache, TokenExchangeFailed
from pushwise.providers.transport import Http2Transport

OPPO_TOKEN_SECONDS = 86_400.0
VIVO_RENEW_SECONDS = 3_600.0


def oppo_sign(app_key: str, timestamp: str, master_secret: str) -> str:
    return hashlib.sha256((app_key + timestamp + master_secret).encode()).hexdigest()


def vivo_sign(app_id: str, app_key: str, timestamp: str, app_secret: str) -> str:
    return hashlib.md5(
        (app_id + app_key + timestamp + app_secret).encode(), usedforsecurity=False
    ).hexdigest()


def oppo_auth(
    transport: Http2Transport, clock: Clock, *, url: str, app_key: str, master_secret: str, timeout: float
) -> TokenCache:
    async def exchange(now: float) -> tuple[str, float]:
        timestamp = str(int(now * 1000))
        form = {
            "app_key": app_key,
            "timestamp": timestamp,
            "sign": oppo_sign(app_key, timestamp, master_secret),
        }
        response = await transport.request(
            "POST", url, headers={"content-type": FORM}, body=urlencode(form).encode(), timeout=timeout
        )
        body = json_object(response.body) or {}
        code, data = body.get("code"), body.get("data")
        token = data.get("auth_token") if isinstance(data, dict) else None
        if response.status == 200 and code == 0 and isinstance(token, str) and token:
            return token, OPPO_TOKEN_SECONDS
        # -1 unavailable and -2 flow control pass; any other code refuses the key or signature.
        retryable = response.status == 429 or response.status >= 500 or code in (-1, -2)
        reason = f"oppo:{code}" if code is not None else f"oppo:HTTP{response.status}"
        raise TokenExchangeFailed(reason, str(body.get("message", "")), retryable=retryable)

    return TokenCache(exchange, clock)


def vivo_auth(
    transport: Http2Transport,
    clock: Clock,
    *,
    url: str,
    app_id: str,
    app_key: str,
    app_secret: str,
    timeout: float,
) -> TokenCache:
    async def exchange(now: float) -> tuple[str, float]:
        timestamp = str(int(now * 1000))
        request = {
            "appId": app_id,
            "appKey": app_key,
            "timestamp": timestamp,
            "sign": vivo_sign(app_id, app_key, timestamp, app_secret),
        }
        response = await transport.request(
            "POST", url, headers={"content-type": JSON}, body=orjson.dumps(request), timeout=timeout
        )
        body = granted(response, "authToken", "vivo")
        if body.get("result") != 0:
            raise TokenExchangeFailed(
                f"vivo:{body.get('result')}", str(body.get("desc", "")), retryable=False
            )
        return str(body["authToken"]), VIVO_RENEW_SECONDS

    return TokenCache(exchange, clock, refresh_early=60.0)

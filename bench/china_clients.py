"""Bare clients of the five vendor protocols, and pushwise's adapters alone, against one simulator.

Each returns tokens delivered per second. Both sides send the same traffic: one
notification to `n` tokens, `batch` tokens per request (what one worker claim gives
pushwise's adapter), `concurrency` requests in flight (pushwise's batch loops). The
bare client pre-computes its credential and request bodies outside the timing; it is
the ceiling of the protocol over pyreqwest, the HTTP library pushwise uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from pyreqwest.client import ClientBuilder

from pushwise.domain.clock import SystemClock
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.providers.base import Dispatch
from pushwise.providers.china.base import VendorProvider
from pushwise.providers.china.factory import build_vendor_provider
from pushwise.simulators.china.harness import VendorSimulatorHandle

SECRETS = ("client_secret", "app_secret", "master_secret")
SPEC = NotificationSpec(Content(title="Order shipped", body="On its way"), ttl_seconds=3600)


def token_of(vendor: str, i: int) -> str:
    return f"{vendor}-bench-{i:012d}"


def split(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: v for k, v in config.items() if k not in SECRETS}, {
        k: v for k, v in config.items() if k in SECRETS
    }


async def credential(sim: VendorSimulatorHandle) -> str:
    """The vendor's token (or key header), fetched once with pushwise's own auth code: not timed."""
    public, secret = split(sim.provider_config())
    provider = build_vendor_provider(sim.vendor, public, secret, SystemClock())
    try:
        if isinstance(provider, VendorProvider) and provider.tokens is not None:
            return await provider.tokens.token()
        return f"key={sim.credentials['app_secret']}"
    finally:
        await provider.close()


def bare_requests(
    sim: VendorSimulatorHandle, auth: str, tokens: list[str]
) -> list[tuple[str, dict[str, str], bytes]]:
    """(url, headers, body) of the requests that carry `tokens` (vivo: two, the rest: one)."""
    base, creds = sim.endpoint, sim.credentials
    form = {"content-type": "application/x-www-form-urlencoded"}
    json = {"content-type": "application/json"}
    if sim.vendor == "huawei":
        message = {
            "android": {
                "category": "MARKETING",
                "ttl": "3600s",
                "notification": {
                    "title": "Order shipped",
                    "body": "On its way",
                    "click_action": {"type": 3},
                    "importance": "LOW",
                },
            },
            "token": tokens,
        }
        body = orjson.dumps({"validate_only": False, "message": message})
        return [(f"{base}/v1/{creds['client_id']}/messages:send", {**json, "authorization": auth}, body)]
    if sim.vendor == "honor":
        notification = {
            "title": "Order shipped",
            "body": "On its way",
            "clickAction": {"type": 3},
            "importance": "LOW",
        }
        body = orjson.dumps({"android": {"ttl": "3600s", "notification": notification}, "token": tokens})
        headers = {**json, "authorization": auth, "timestamp": str(int(time.time() * 1000))}
        return [(f"{base}/api/v1/{creds['app_id']}/sendMessage", headers, body)]
    if sim.vendor == "xiaomi":
        fields = {
            "registration_id": ",".join(tokens),
            "restricted_package_name": creds["package_name"],
            "title": "Order shipped",
            "description": "On its way",
            "pass_through": "0",
            "notify_type": "-1",
        }
        return [(f"{base}/v3/message/regid", {**form, "authorization": auth}, urlencode(fields).encode())]
    if sim.vendor == "oppo":
        notification = {"title": "Order shipped", "content": "On its way"}
        items = [{"target_type": 2, "target_value": t, "notification": notification} for t in tokens]
        fields = {"auth_token": auth, "messages": orjson.dumps(items).decode()}
        return [(f"{base}/server/v1/message/notification/unicast_batch", form, urlencode(fields).encode())]
    raise ValueError(sim.vendor)


async def measure_bare(sim: VendorSimulatorHandle, n: int, batch: int, concurrency: int) -> float:
    auth = await credential(sim)
    chunks = [
        [token_of(sim.vendor, i) for i in range(start, min(n, start + batch))] for start in range(0, n, batch)
    ]
    client = ClientBuilder().build()
    headers = {"content-type": "application/json", "authtoken": auth}

    async def post(url: str, headers: dict[str, str], body: bytes) -> bytes:
        response = await client.request("POST", url).headers(headers).body_bytes(body).build().send()
        payload = bytes(await response.bytes())
        if response.status != 200:
            raise RuntimeError(f"{sim.vendor}: HTTP {response.status}")
        return payload

    async def send(tokens: list[str]) -> None:
        if sim.vendor == "vivo":
            message = {
                "title": "Order shipped",
                "content": "On its way",
                "notifyType": 4,
                "skipType": 1,
                "classification": 0,
            }
            saved = orjson.loads(
                await post(
                    f"{sim.endpoint}/message/saveListPayload",
                    headers,
                    orjson.dumps({**message, "requestId": tokens[0]}),
                )
            )
            push = {"regIds": tokens, "taskId": saved["taskId"], "requestId": tokens[-1]}
            await post(f"{sim.endpoint}/message/pushToList", headers, orjson.dumps(push))
            return
        for url, request_headers, body in bare_requests(sim, auth, tokens):
            await post(url, request_headers, body)

    try:
        return await _timed(send, chunks, concurrency, n)
    finally:
        await client.close()


async def measure_adapter(sim: VendorSimulatorHandle, n: int, batch: int, concurrency: int) -> float:
    """pushwise's adapter alone: `n` dispatches, handed over `batch` at a time as the worker does."""
    public, secret = split(sim.provider_config())
    provider = build_vendor_provider(sim.vendor, public, secret, SystemClock())
    chunks = [list(range(start, min(n, start + batch))) for start in range(0, n, batch)]

    async def send(indexes: list[int]) -> None:
        outcomes = await asyncio.gather(
            *(
                provider.send(
                    Dispatch(i, "bench", "ntf_bench", sim.vendor, token_of(sim.vendor, i), SPEC, None, 1)
                )
                for i in indexes
            )
        )
        if any(not outcome.is_success for outcome in outcomes):
            raise RuntimeError(f"{sim.vendor}: {outcomes[0]}")

    try:
        await send([n + i for i in range(10)])  # warm up: credentials and a connection
        return await _timed(send, chunks, concurrency, n)
    finally:
        await provider.close()


async def _timed(
    send: Callable[[Any], Awaitable[None]], chunks: list[Any], concurrency: int, n: int
) -> float:
    pending = iter(chunks)

    async def worker() -> None:
        for chunk in pending:
            await send(chunk)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)

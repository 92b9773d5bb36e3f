"""Web Push benchmark: encryption cost, WebPushProvider.send, and a bare client, in one run.

    python bench/webpush_clients.py --requests 20000 --concurrency 100 [--tls]

All HTTP figures come from the same simulator process (decrypt off: it only
verifies VAPID from its cache and counts), so the ratio provider / bare client
is the figure that holds on a noisy machine. The bare client posts bodies
encrypted beforehand with one pre-signed VAPID header: the HTTP ceiling with
pyreqwest and the same protocol negotiation.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyreqwest.client import ClientBuilder

from pushwise.domain.clock import SystemClock
from pushwise.domain.endpoints import parse_endpoint
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.domain.outcomes import OutcomeKind
from pushwise.domain.webpush_message import render
from pushwise.providers.base import Dispatch
from pushwise.providers.vapid import VapidSigner, generate_vapid_keys
from pushwise.providers.webpush import WebPushCredentials, build_webpush_provider, origin_of
from pushwise.providers.webpush_crypto import b64url_decode, encrypt
from pushwise.simulators.webpush import WebPushSimulatorHandle, start_webpush_simulator

SPEC = NotificationSpec(
    Content(title="Your order shipped", body="It arrives on Tuesday between 9 and 12.", data={"order": 42}),
    webpush={"urgency": "normal"},
)


def measure_encryptions(subscriptions: list[dict[str, Any]], count: int) -> float:
    """Encryptions per second on one core: fresh sender key and salt per message, as sent."""
    plaintext = render(SPEC, expires_at=None, now=time.time()).plaintext
    keys = [(b64url_decode(s["keys"]["p256dh"]), b64url_decode(s["keys"]["auth"])) for s in subscriptions]
    started = time.perf_counter()
    for index in range(count):
        public, auth = keys[index % len(keys)]
        encrypt(plaintext, public, auth)
    return count / (time.perf_counter() - started)


async def _run(count: int, concurrency: int, send: Callable[[int], Awaitable[bool]]) -> dict[str, float]:
    next_index = 0
    failures = 0

    async def worker() -> None:
        nonlocal next_index, failures
        while next_index < count:
            index = next_index
            next_index += 1
            if not await send(index):
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"requests": count, "seconds": elapsed, "per_second": count / elapsed, "failures": failures}


async def measure_provider(
    sim: WebPushSimulatorHandle, subscriptions: list[dict[str, Any]], count: int, concurrency: int
) -> dict[str, float]:
    """WebPushProvider.send end to end: render, encrypt, VAPID (cached), POST, classify."""
    credentials = WebPushCredentials("mailto:bench@example.com", generate_vapid_keys()[0])
    provider = build_webpush_provider(
        credentials, SystemClock(), ca_file=sim.ca_file, allow_private_endpoints=True
    )
    expires = time.time() + 3600

    async def send(index: int) -> bool:
        subscription = subscriptions[index % len(subscriptions)]
        dispatch = Dispatch(
            index,
            "app",
            "n",
            "webpush",
            subscription["endpoint"],
            SPEC,
            expires,
            1,
            subscription=subscription,
        )
        return (await provider.send(dispatch)).kind is OutcomeKind.DELIVERED

    try:
        return await _run(count, concurrency, send)
    finally:
        await provider.close()


async def measure_bare_client(
    sim: WebPushSimulatorHandle, subscriptions: list[dict[str, Any]], count: int, concurrency: int
) -> dict[str, float]:
    """pyreqwest posting bodies encrypted beforehand: the HTTP ceiling for the same requests."""
    credentials = WebPushCredentials("mailto:bench@example.com", generate_vapid_keys()[0])
    message = render(SPEC, expires_at=time.time() + 3600, now=time.time())
    signer = VapidSigner(credentials.private_key, credentials.subject, SystemClock())
    origin = origin_of(parse_endpoint(sim.origin, allow_private=True))
    headers = {**message.headers, "authorization": signer.authorization(origin)}
    bodies = [
        encrypt(message.plaintext, b64url_decode(s["keys"]["p256dh"]), b64url_decode(s["keys"]["auth"]))
        for s in subscriptions
    ]
    builder = ClientBuilder().http2(True).https_only(False)
    if sim.ca_file:
        builder = builder.add_root_certificate_pem(await asyncio.to_thread(Path(sim.ca_file).read_bytes))
    client = builder.build()
    deadline = timedelta(seconds=10)
    # Open the connection first, as the provider's transport does, so an h2 burst shares it.
    warm = subscriptions[0]["endpoint"]
    await (
        await client.post(warm).headers(headers).body_bytes(bodies[0]).timeout(deadline).build().send()
    ).bytes()

    async def send(index: int) -> bool:
        slot = index % len(subscriptions)
        request = (
            client.post(subscriptions[slot]["endpoint"])
            .headers(headers)
            .body_bytes(bodies[slot])
            .timeout(deadline)
            .build()
        )
        response = await request.send()
        await response.bytes()
        return response.status == 201

    try:
        return await _run(count, concurrency, send)
    finally:
        await client.close()


async def compare(args: argparse.Namespace) -> None:
    with start_webpush_simulator(tls=args.tls, decrypt=False) as sim:
        subscriptions = sim.new_subscriptions(args.subscriptions)
        rate = measure_encryptions(subscriptions, args.encryptions)
        print(f"encryptions/s (one core, fresh key + salt each): {rate:,.0f}")
        protocol = "h2 over TLS (ALPN)" if args.tls else "HTTP/1.1 over plain http"
        print(f"HTTP: {protocol}, {args.requests} requests, concurrency {args.concurrency}")
        rows = []
        for name, measure in (
            ("bare client", measure_bare_client),
            ("WebPushProvider.send", measure_provider),
        ):
            sim.reset()
            result = await measure(sim, subscriptions, args.requests, args.concurrency)
            delivered = sim.stats()["delivered"]
            rows.append((name, result, delivered))
        ceiling = rows[0][1]["per_second"]
        print(f"{'client':<24}{'req/s':>10}{'ratio':>8}{'failures':>10}{'delivered':>11}")
        for name, result, delivered in rows:
            ratio = result["per_second"] / ceiling
            print(
                f"{name:<24}{result['per_second']:>10,.0f}{ratio:>8.2f}"
                f"{int(result['failures']):>10}{delivered:>11}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=1_000)
    parser.add_argument("--encryptions", type=int, default=20_000)
    parser.add_argument("--tls", action="store_true", help="h2 over TLS instead of HTTP/1.1 over http")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(compare(args))
    else:
        uvloop.run(compare(args))


if __name__ == "__main__":
    main()

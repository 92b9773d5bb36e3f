"""Slow clients: headers and bodies that do not arrive in time get a 408 and the connection back.

A real uvicorn server with pushwise's HTTP protocol, talked to over a raw socket so the test can
stall exactly where a slowloris client would. Deadlines are a fraction of a second; reads wait
at most a few seconds, so a server that never answers fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson
import pytest

from pushwise.api.app import create_app
from pushwise.api.slow_clients import header_deadline_protocol
from pushwise.bootstrap import Services
from pushwise.settings import Settings
from tests.integration.conftest import serve_app

DEADLINE = 0.3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(body_timeout_seconds=DEADLINE, header_timeout_seconds=DEADLINE)


@pytest.fixture
async def address(services: Services) -> AsyncIterator[tuple[str, int]]:
    protocol = header_deadline_protocol(services.settings.header_timeout_seconds)
    async with serve_app(create_app(services), http=protocol) as base_url:
        host, port = base_url.removeprefix("http://").split(":")
        yield host, int(port)


async def exchange(address: tuple[str, int], *parts: bytes) -> bytes:
    """Send `parts`, then read until the server closes (or 5 s pass)."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        for part in parts:
            writer.write(part)
            await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def status_and_error(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), orjson.loads(body)["error"]["code"]


async def test_headers_that_never_finish_are_answered_408_and_the_connection_closed(
    address: tuple[str, int],
) -> None:
    answer = await exchange(address, b"GET /healthz HTTP/1.1\r\nHost: pushwise\r\nX-Slow: ")
    assert status_and_error(answer) == (408, "request_timeout")


async def test_a_connection_that_sends_nothing_is_closed(address: tuple[str, int]) -> None:
    assert status_and_error(await exchange(address)) == (408, "request_timeout")


async def test_a_body_that_stops_arriving_is_answered_408(address: tuple[str, int]) -> None:
    head = b"POST /v1/apps HTTP/1.1\r\nHost: pushwise\r\nContent-Length: 100\r\n\r\n"
    answer = await exchange(address, head + b'{"name": ')
    assert status_and_error(answer) == (408, "request_timeout")
    assert b"connection: close" in answer.lower()


async def test_prompt_requests_on_a_kept_alive_connection_are_served(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    try:
        for _ in range(2):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: pushwise\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(
                next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:]
            )
            await reader.readexactly(length)
            await asyncio.sleep(DEADLINE * 2)  # idle between requests is the keep-alive timer's business
    finally:
        writer.close()

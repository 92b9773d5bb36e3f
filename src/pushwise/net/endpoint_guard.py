"""Resolve an outbound destination's host and refuse it unless every address is public.

The URL-only rule lives in `pushwise.domain.endpoints`; this adds the DNS step.
A name can resolve differently later (DNS rebinding), so checking a URL when it
is configured is not enough: every sender calls `public_addresses` right before
it opens a connection and connects to an address it returned (webhooks, receipts
and alert sinks through `public_transport`, Web Push by pinning, SMTP per session).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence

from pushwise.domain.endpoints import (
    Endpoint,
    EndpointRefused,
    IpAddress,
    ip_literal,
    is_public_address,
    parse_endpoint,
)

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def public_addresses(host: str, port: int, resolve: Resolver = resolve_addresses) -> list[IpAddress]:
    """Every address `host` stands for, in the resolver's order of preference.

    Raises `EndpointRefused` when any of them is not public: a name that mixes public
    and private addresses would let the connection land on the private one. Raises
    `OSError` when the name does not resolve, which callers may treat as transient.
    """
    literal = ip_literal(host.strip("[]"))
    if literal is not None:
        addresses: list[IpAddress | None] = [literal]
    else:
        addresses = [ip_literal(raw.split("%", 1)[0]) for raw in await resolve(host, port)]
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if any(address is None or not is_public_address(address) for address in addresses):
        raise EndpointRefused("private_endpoint_refused", f"{host} resolves to a non-public address")
    return [address for address in addresses if address is not None]


async def check_public_endpoint(
    url: str, *, allow_private: bool, resolve: Resolver = resolve_addresses
) -> Endpoint:
    endpoint = parse_endpoint(url, allow_private=allow_private)
    if allow_private or endpoint.address is not None:
        return endpoint
    try:
        await public_addresses(endpoint.host, endpoint.port, resolve)
    except OSError as error:
        raise EndpointRefused("endpoint_unresolvable", f"cannot resolve {endpoint.host}") from error
    return endpoint

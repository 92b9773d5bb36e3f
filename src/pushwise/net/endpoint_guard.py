"""Resolve an outbound endpoint's host and refuse it unless every address is public.

The URL-only rule lives in `pushwise.domain.endpoints`; this adds the DNS step for
destinations configured rarely (provider overrides), where a lookup is cheap. A
name can resolve differently later (DNS rebinding), so senders still check the
address they actually connect to.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence

from pushwise.domain.endpoints import Endpoint, EndpointRefused, ip_literal, is_public_address, parse_endpoint

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_public_endpoint(
    url: str, *, allow_private: bool, resolve: Resolver = resolve_addresses
) -> Endpoint:
    endpoint = parse_endpoint(url, allow_private=allow_private)
    if allow_private or endpoint.address is not None:
        return endpoint
    try:
        addresses = await resolve(endpoint.host, endpoint.port)
    except OSError as error:
        raise EndpointRefused("endpoint_unresolvable", f"cannot resolve {endpoint.host}") from error
    if not addresses:
        raise EndpointRefused("endpoint_unresolvable", f"cannot resolve {endpoint.host}")
    for raw in addresses:
        address = ip_literal(raw.split("%", 1)[0])
        if address is None or not is_public_address(address):
            raise EndpointRefused(
                "private_endpoint_refused", f"{endpoint.host} resolves to a non-public address"
            )
    return endpoint

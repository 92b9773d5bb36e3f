"""How a transport connects: shared by both HTTP/2 clients so they are configured alike."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """Connection settings for one provider endpoint.

    `connections` HTTP/2 connections are kept because one connection's throughput is
    bounded by one TCP stream and by the peer's stream limit; `max_streams_per_connection`
    caps requests in flight on each (APNs advertises 1000, and may lower it at any time).
    `prior_knowledge` permits cleartext HTTP/2 (h2c) to `http://` URLs, which only
    test peers speak; without it such URLs are refused (a `ValueError`), so provider
    credentials never travel in cleartext because of a mistyped endpoint.
    `request_timeout` is the deadline a request gets when it names no other; built
    into the client, it costs nothing per request (a per-request deadline does).
    """

    connections: int = 2
    max_streams_per_connection: int = 1000
    ca_file: str | None = None
    identity_pem: bytes | None = None
    prior_knowledge: bool = False
    connect_timeout: float = 10.0
    request_timeout: float = 10.0
    keepalive_interval: float = 30.0
    keepalive_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.connections < 1 or self.max_streams_per_connection < 1:
            raise ValueError("a transport needs at least one connection and one stream")
        if self.request_timeout <= 0:
            raise ValueError("a request timeout must be positive")

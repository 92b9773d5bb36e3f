"""Is a URL an acceptable outbound destination? (SSRF rule of API.md, Operations.)

Pushwise sends requests to URLs that app owners and their users choose (Web Push
endpoints, provider overrides, webhooks). Unless private endpoints are allowed,
such a URL must be `https` and must not name a loopback, private, link-local or
otherwise non-public address, so nobody can make pushwise probe its own network.
This module judges what the URL itself says; `pushwise.net.endpoint_guard` also
resolves host names, and senders must re-check addresses at connection time.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_LEGACY_IPV4_CHARS = frozenset("0123456789abcdefx.")


class EndpointRefused(ValueError):
    """The URL is not an acceptable destination; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    scheme: str
    host: str
    port: int
    address: IpAddress | None  # set when the host is an IP literal


def is_public_address(address: IpAddress) -> bool:
    """Globally routable, also for IPv6 forms that embed an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not address.is_multicast


def ip_literal(host: str) -> IpAddress | None:
    """The address a host string denotes by itself, including the legacy IPv4
    spellings (`127.1`, `0x7f.0.0.1`, `2130706433`) that resolvers still accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host.lower()) <= _LEGACY_IPV4_CHARS:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def parse_endpoint(url: str, *, allow_private: bool) -> Endpoint:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise EndpointRefused("invalid_endpoint", f"not a valid URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise EndpointRefused("invalid_endpoint", "must be an absolute https URL")
    if scheme == "http" and not allow_private:
        raise EndpointRefused(
            "invalid_endpoint", "must use https (http is allowed only with PUSHWISE_ALLOW_PRIVATE_ENDPOINTS)"
        )
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("invalid_endpoint", "must not carry credentials in the URL")
    host = parts.hostname.rstrip(".").lower()
    address = ip_literal(host)
    if not allow_private:
        _refuse_private_host(host, address)
    return Endpoint(url, scheme, host, port or (443 if scheme == "https" else 80), address)


def _refuse_private_host(host: str, address: IpAddress | None) -> None:
    if address is not None:
        if not is_public_address(address):
            raise EndpointRefused("private_endpoint_refused", f"{host} is not a public address")
        return
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        raise EndpointRefused("private_endpoint_refused", f"{host} is not a public host name")

"""The SSRF rule: which outbound URLs are acceptable, with and without private endpoints."""

from __future__ import annotations

import ipaddress

import pytest

from pushwise.domain.endpoints import EndpointRefused, is_public_address, parse_endpoint
from pushwise.net.endpoint_guard import check_public_endpoint


def refusal(url: str, *, allow_private: bool = False) -> str:
    with pytest.raises(EndpointRefused) as caught:
        parse_endpoint(url, allow_private=allow_private)
    return caught.value.code


def test_public_https_url_is_accepted_with_its_port() -> None:
    endpoint = parse_endpoint("https://api.push.apple.com:2197/3/device", allow_private=False)
    assert (endpoint.scheme, endpoint.host, endpoint.port) == ("https", "api.push.apple.com", 2197)
    assert parse_endpoint("https://8.8.8.8/x", allow_private=False).port == 443


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/x",
        "https://LOCALHOST./x",
        "https://api.localhost/x",
        "https://printer.local/x",
        "https://metadata/x",
        "https://metadata.google.internal/x",
        "https://127.0.0.1:8443/x",
        "https://127.1/x",
        "https://0x7f.0.0.1/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://0.0.0.0/x",
        "https://[::1]/x",
        "https://[fe80::1]/x",
        "https://[fc00::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[64:ff9b::7f00:1]/x",
        "https://[2002:7f00:1::]/x",
        "https://224.0.0.1/x",
    ],
)
def test_private_destinations_are_refused_by_default(url: str) -> None:
    assert refusal(url) == "private_endpoint_refused"


@pytest.mark.parametrize(
    "url", ["http://push.example.com/x", "ftp://example.com/x", "/relative", "https://", "nope"]
)
def test_non_https_or_malformed_urls_are_invalid(url: str) -> None:
    assert refusal(url) == "invalid_endpoint"


def test_credentials_in_the_url_are_refused_even_when_private_is_allowed() -> None:
    assert refusal("https://user:pw@example.com/x", allow_private=True) == "invalid_endpoint"


def test_allow_private_admits_http_and_loopback() -> None:
    endpoint = parse_endpoint("http://127.0.0.1:9000/push", allow_private=True)
    assert (endpoint.host, endpoint.port, endpoint.address) == (
        "127.0.0.1",
        9000,
        ipaddress.ip_address("127.0.0.1"),
    )
    assert parse_endpoint("https://localhost/x", allow_private=True).host == "localhost"


def test_is_public_address_looks_inside_ipv6_wrappers() -> None:
    assert is_public_address(ipaddress.ip_address("2606:4700:4700::1111"))
    assert not is_public_address(ipaddress.ip_address("::ffff:10.0.0.1"))


async def test_guard_accepts_names_resolving_to_public_addresses() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("push.example.com", 443)
        return ["93.184.216.34", "2606:2800:220:1::1"]

    endpoint = await check_public_endpoint("https://push.example.com/x", allow_private=False, resolve=resolve)
    assert endpoint.host == "push.example.com"


async def test_guard_refuses_a_name_with_any_private_address() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(EndpointRefused) as caught:
        await check_public_endpoint("https://rebind.example.com/x", allow_private=False, resolve=resolve)
    assert caught.value.code == "private_endpoint_refused"


async def test_guard_refuses_unresolvable_names_and_skips_lookup_when_private_is_allowed() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(EndpointRefused) as caught:
        await check_public_endpoint("https://gone.example.com/x", allow_private=False, resolve=failing)
    assert caught.value.code == "endpoint_unresolvable"
    endpoint = await check_public_endpoint("https://gone.example.com/x", allow_private=True, resolve=failing)
    assert endpoint.host == "gone.example.com"

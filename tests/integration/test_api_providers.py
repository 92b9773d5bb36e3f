"""APNs credentials: validation at the door, sealing at rest, never shown again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from pushwise.api.app import create_app
from pushwise.bootstrap import build_services
from pushwise.store.credentials import CredentialRepository
from pushwise.store.schema import provider_credentials
from pushwise.store.sealing import Sealer

pytestmark = pytest.mark.integration


def pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def p8_key() -> str:
    return pem_key(ec.generate_private_key(ec.SECP256R1()))


def certificate(now: float, *, days: float) -> tuple[str, str]:
    """A self-signed client certificate valid from a day before `now` for `days` days around it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.shop")])
    start = dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(days=400))
        .not_valid_after(start + dt.timedelta(days=1 + days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key(key)


def token_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "team_id": "ABCDE12345",
        "key_id": "KEY1234567",
        "private_key": p8_key(),
        "topic": "com.example.shop",
        "environment": "development",
        "endpoint": "https://127.0.0.1:2197",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def test_token_credentials_are_stored_sealed_and_never_returned(client, make_app, services) -> None:
    shop = await make_app()
    body = token_body()
    response = await client.put(f"/v1/apps/{shop.id}/providers/apns", json=body, headers=shop.server_headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["auth"] == "token"
    assert (shown["team_id"], shown["key_id"], shown["topic"]) == (
        "ABCDE12345",
        "KEY1234567",
        "com.example.shop",
    )
    assert shown["endpoint"] == "https://127.0.0.1:2197"
    assert "private_key" not in shown
    assert "PRIVATE KEY" not in response.text

    fetched = await client.get(f"/v1/apps/{shop.id}/providers/apns", headers=shop.server_headers)
    assert fetched.json() == shown
    assert "PRIVATE KEY" not in fetched.text

    async with services.db.read.connect() as connection:
        row = (await connection.execute(select(provider_credentials))).one()
    assert b"PRIVATE KEY" not in row.secret
    assert "PRIVATE KEY" not in str(row.public_config)
    stored = await CredentialRepository(services.db, services.clock, Sealer(services.secret_key)).get(
        shop.id, "apns"
    )
    assert stored is not None
    assert stored.secret == {"private_key": body["private_key"]}
    assert stored.public["team_id"] == "ABCDE12345"


async def test_updating_credentials_advances_updated_at_even_on_a_frozen_clock(
    client, make_app, services
) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/apns"
    first = (await client.put(url, json=token_body(), headers=shop.server_headers)).json()
    second = (await client.put(url, json=token_body(key_id="NEWKEY7890"), headers=shop.server_headers)).json()
    assert second["key_id"] == "NEWKEY7890"
    assert dt.datetime.fromisoformat(second["updated_at"]) > dt.datetime.fromisoformat(first["updated_at"])


async def test_certificate_credentials_report_their_expiry(client, make_app, clock) -> None:
    shop = await make_app()
    cert, key = certificate(clock.now(), days=30)
    body = {
        "certificate": cert,
        "certificate_key": key,
        "topic": "com.example.shop",
        "environment": "production",
    }
    response = await client.put(f"/v1/apps/{shop.id}/providers/apns", json=body, headers=shop.server_headers)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["auth"] == "certificate"
    assert shown["certificate_expires_at"].startswith("2027-02-")
    assert "Apple Push Services" in shown["certificate_subject"]
    assert "CERTIFICATE" not in response.text


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"team_id": "SHORT"}, "invalid_identifier", "team_id"),
        ({"key_id": "KEY-123456"}, "invalid_identifier", "key_id"),
        ({"private_key": "not a key"}, "invalid_private_key", "private_key"),
        (
            {"private_key": pem_key(rsa.generate_private_key(65537, 2048))},
            "invalid_private_key",
            "private_key",
        ),
        (
            {"private_key": pem_key(ec.generate_private_key(ec.SECP384R1()))},
            "invalid_private_key",
            "private_key",
        ),
        ({"key_id": None}, "missing_field", "key_id"),
        ({"topic": "com example"}, "invalid_topic", "topic"),
        ({"endpoint": "ftp://127.0.0.1"}, "invalid_endpoint", "endpoint"),
        ({"ca_file": "/nonexistent/ca.pem"}, "invalid_ca_file", "ca_file"),
        ({"certificate": "x", "certificate_key": "y"}, "conflicting_auth", None),
        ({"team_id": None, "key_id": None, "private_key": None}, "missing_credentials", None),
    ],
)
async def test_invalid_token_credentials_are_refused(client, make_app, changes, code, field) -> None:
    shop = await make_app()
    response = await client.put(
        f"/v1/apps/{shop.id}/providers/apns", json=token_body(**changes), headers=shop.server_headers
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert "PRIVATE KEY" not in response.text


async def test_schema_violations_are_422_and_unknown_fields_are_refused(client, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/apns"
    bad_env = await client.put(url, json=token_body(environment="staging"), headers=shop.server_headers)
    assert bad_env.json()["error"]["field"] == "environment"
    typo = await client.put(url, json=token_body(enviroment="production"), headers=shop.server_headers)
    assert (typo.status_code, typo.json()["error"]["field"]) == (422, "enviroment")


async def test_expired_or_mismatched_certificates_are_refused(client, make_app, clock) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/apns"
    cert, key = certificate(clock.now(), days=-2)
    expired = await client.put(
        url,
        json={"certificate": cert, "certificate_key": key, "topic": "com.example.shop"},
        headers=shop.server_headers,
    )
    assert expired.status_code == 422
    assert expired.json()["error"]["code"] == "certificate_expired"
    assert "not_after" in expired.json()["error"]["message"]

    cert, _ = certificate(clock.now(), days=30)
    other_key = p8_key()
    mismatch = await client.put(
        url,
        json={"certificate": cert, "certificate_key": other_key, "topic": "com.example.shop"},
        headers=shop.server_headers,
    )
    assert mismatch.json()["error"]["code"] == "invalid_certificate"
    only_cert = await client.put(
        url, json={"certificate": cert, "topic": "com.example.shop"}, headers=shop.server_headers
    )
    assert only_cert.json()["error"] == {
        "code": "missing_field",
        "message": "certificate auth needs certificate_key",
        "field": "certificate_key",
    }


async def test_ca_file_must_be_a_pem_certificate(client, make_app, clock, tmp_path) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/apns"
    cert, _ = certificate(clock.now(), days=30)
    good, bad = tmp_path / "ca.pem", tmp_path / "notes.txt"
    good.write_text(cert)
    bad.write_text("hello")
    accepted = await client.put(url, json=token_body(ca_file=str(good)), headers=shop.server_headers)
    assert accepted.json()["ca_file"] == str(good)
    refused = await client.put(url, json=token_body(ca_file=str(bad)), headers=shop.server_headers)
    assert refused.json()["error"]["code"] == "invalid_ca_file"


async def test_delete_removes_the_credentials(client, make_app) -> None:
    shop = await make_app()
    url = f"/v1/apps/{shop.id}/providers/apns"
    assert (await client.get(url, headers=shop.server_headers)).status_code == 404
    await client.put(url, json=token_body(), headers=shop.server_headers)
    deleted = await client.delete(url, headers=shop.server_headers)
    assert (deleted.status_code, deleted.json()["auth"]) == (200, "token")
    assert (await client.get(url, headers=shop.server_headers)).status_code == 404
    assert (await client.delete(url, headers=shop.server_headers)).status_code == 404


async def test_admin_may_configure_but_other_apps_and_client_keys_may_not(
    client, make_app, admin_headers
) -> None:
    shop, blog = await make_app("shop"), await make_app("blog")
    url = f"/v1/apps/{shop.id}/providers/apns"
    assert (await client.put(url, json=token_body(), headers=admin_headers)).status_code == 200
    assert (await client.get(url, headers=blog.server_headers)).status_code == 404
    assert (await client.put(url, json=token_body(), headers=blog.server_headers)).status_code == 404
    assert (await client.delete(url, headers=blog.server_headers)).status_code == 404
    assert (await client.get(url, headers=shop.client_headers)).status_code == 403
    assert (await client.get(url, headers=shop.server_headers)).status_code == 200


async def test_private_endpoints_are_refused_unless_allowed(
    settings, services, clock, admin_headers, serve
) -> None:
    strict = build_services(dataclasses.replace(settings, allow_private_endpoints=False), clock=clock)
    try:
        async with serve(create_app(strict)) as base_url, httpx.AsyncClient(base_url=base_url) as http:
            app = (await http.post("/v1/apps", json={"name": "strict"}, headers=admin_headers)).json()
            headers = {"authorization": f"Bearer {app['server_key']}"}
            url = f"/v1/apps/{app['id']}/providers/apns"
            for endpoint, code in [
                ("https://127.0.0.1:2197", "private_endpoint_refused"),
                ("https://localhost:2197", "private_endpoint_refused"),
                ("https://[::1]:2197", "private_endpoint_refused"),
                ("http://8.8.8.8", "invalid_endpoint"),
            ]:
                response = await http.put(url, json=token_body(endpoint=endpoint), headers=headers)
                assert response.status_code == 422
                assert response.json()["error"]["code"] == code, endpoint
            public = await http.put(
                url, json=token_body(endpoint="https://17.188.128.1:443"), headers=headers
            )
            assert public.status_code == 200
    finally:
        await strict.close()

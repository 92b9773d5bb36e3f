"""Self-issued TLS material for the loopback APNs peer.

rustls (under pushwise's HTTP/2 client) refuses a self-signed certificate used
directly as the server's certificate, so we issue a small CA and sign a leaf
for `127.0.0.1`/`localhost` with it, like a real PKI. The same CA signs the
client certificate used by certificate-based provider auth.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_file: str
    cert_file: str
    key_file: str


@dataclass(frozen=True, slots=True)
class ClientIdentityFiles:
    """A client certificate as Apple issues per app: its subject UID is the bundle id."""

    cert_file: str
    key_file: str
    identity_file: str  # certificate + key in one PEM, the form pyreqwest's `identity_pem` takes


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def issue_server_tls(workdir: Path) -> tuple[TlsFiles, CertificateAuthority]:
    """Write `ca.pem`, `server.pem`, `server.key` into `workdir`."""
    ca = _new_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        _leaf_builder(ca, key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    files = TlsFiles(
        ca_file=_write(workdir / "ca.pem", ca.cert.public_bytes(serialization.Encoding.PEM)),
        cert_file=_write(workdir / "server.pem", cert.public_bytes(serialization.Encoding.PEM)),
        key_file=_write(workdir / "server.key", _key_pem(key)),
    )
    return files, ca


def issue_client_identity(workdir: Path, issuer: CertificateAuthority, topic: str) -> ClientIdentityFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {topic}"),
        ]
    )
    cert = (
        _leaf_builder(issuer, key, subject)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = _key_pem(key)
    return ClientIdentityFiles(
        cert_file=_write(workdir / "client.pem", cert_pem),
        key_file=_write(workdir / "client.key", key_pem),
        identity_file=_write(workdir / "client-identity.pem", cert_pem + key_pem),
    )


def _new_ca() -> CertificateAuthority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pushwise APNs simulator CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert, key)


def _leaf_builder(
    issuer: CertificateAuthority, key: ec.EllipticCurvePrivateKey, subject: x509.Name
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)

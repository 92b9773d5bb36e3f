"""Keys, certificates and the launch spec the APNs simulator is started from."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from pushwise.simulators.apns.provisioning import LaunchSpec, provision


def test_tls_material_is_a_ca_and_a_loopback_leaf_it_signed(tmp_path: Path) -> None:
    made = provision(
        tmp_path, port=2197, tls=True, topic="com.example.shop", faults=None, seed=0, engine="auto"
    )
    assert made.spec.tls is not None
    ca = x509.load_pem_x509_certificate(Path(made.spec.tls.ca_file).read_bytes())
    leaf = x509.load_pem_x509_certificate(Path(made.spec.tls.cert_file).read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.issuer == ca.subject
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_the_p8_key_file_and_the_spec_round_trip(tmp_path: Path) -> None:
    made = provision(
        tmp_path, port=2197, tls=False, topic="com.example.shop", faults=None, seed=4, engine="auto"
    )
    assert Path(made.private_key_file).name == f"AuthKey_{made.signing_key.key_id}.p8"
    assert Path(made.private_key_file).read_text() == made.signing_key.private_key_pem
    assert made.spec.endpoint == "http://127.0.0.1:2197"
    made.spec.write(tmp_path / "spec.json")
    assert LaunchSpec.read(tmp_path / "spec.json") == made.spec
    assert "PRIVATE" not in (tmp_path / "spec.json").read_text()


def test_certificate_auth_issues_a_client_identity_for_the_topic(tmp_path: Path) -> None:
    made = provision(
        tmp_path,
        port=1,
        tls=True,
        auth="certificate",
        topic="com.example.shop",
        faults=None,
        seed=0,
        engine="auto",
    )
    assert made.client_identity is not None
    cert = x509.load_pem_x509_certificate(Path(made.client_identity.cert_file).read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "com.example.shop"
    assert "PRIVATE KEY" in Path(made.client_identity.identity_file).read_text()


@pytest.mark.parametrize(
    ("faults", "engine", "resolved"),
    [(None, "auto", "granian"), ({"goaway_after_streams": 10}, "auto", "h2"), (None, "h2", "h2")],
)
def test_engine_choice(tmp_path: Path, faults: dict[str, int] | None, engine: str, resolved: str) -> None:
    made = provision(tmp_path, port=1, tls=False, topic="t", faults=faults, seed=0, engine=engine)
    assert made.spec.engine == resolved


@pytest.mark.parametrize(
    "options",
    [
        {"engine": "granian", "faults": {"drop_connection_rate": 0.1}},
        {"engine": "nginx"},
        {"auth": "certificate", "tls": False},
        {"faults": {"reasons": {"NotAReason": 0.1}}},
    ],
)
def test_impossible_setups_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    settings: dict[str, object] = {
        "port": 1,
        "tls": True,
        "topic": "t",
        "faults": None,
        "seed": 0,
        "engine": "auto",
    }
    with pytest.raises(ValueError):
        provision(tmp_path, **{**settings, **options})  # type: ignore[arg-type]

"""Everything a simulated APNs needs before it starts, written into one work directory.

The caller (test harness or CLI) issues the signing key and TLS material, so it
can hand them to pushwise, and writes a `LaunchSpec` that the server process
reads. The private .p8 key never goes to the server: it only gets public keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pushwise.simulators.apns.auth import SigningKey, new_signing_key
from pushwise.simulators.apns.certs import (
    ClientIdentityFiles,
    TlsFiles,
    issue_client_identity,
    issue_server_tls,
)
from pushwise.simulators.apns.faults import parse_faults

ENGINES = ("auto", "granian", "h2")
AUTH_MODES = ("token", "certificate")


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    host: str
    port: int
    engine: str  # "granian" or "h2", resolved from "auto"
    topic: str
    auth: str
    team_id: str
    public_keys: dict[str, str]  # key id -> public key PEM
    tls: TlsFiles | None
    faults: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    history_size: int = 10_000
    parent_pid: int | None = None  # the server exits when this process is gone (a killed test run)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def read(cls, path: Path) -> LaunchSpec:
        raw = orjson.loads(path.read_bytes())
        tls = raw.pop("tls")
        return cls(**raw, tls=TlsFiles(**tls) if tls else None)


@dataclass(frozen=True, slots=True)
class Provisioned:
    spec: LaunchSpec
    signing_key: SigningKey
    private_key_file: str
    client_identity: ClientIdentityFiles | None


def provision(
    workdir: Path,
    *,
    host: str = "127.0.0.1",
    port: int,
    tls: bool,
    auth: str = "token",
    topic: str,
    faults: dict[str, Any] | None,
    seed: int,
    engine: str,
) -> Provisioned:
    """Issue keys and certificates into `workdir` and describe the server to launch."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    if auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {AUTH_MODES}")
    if auth == "certificate" and not tls:
        raise ValueError("certificate auth needs TLS")
    fault_config = parse_faults(faults)  # fail here, in the caller, rather than in the server process
    if engine == "auto":
        engine = "h2" if fault_config.needs_connection_control else "granian"
    elif engine == "granian" and fault_config.needs_connection_control:
        raise ValueError("dropping connections and GOAWAY need engine 'h2' (or 'auto')")
    workdir.mkdir(parents=True, exist_ok=True)
    key = new_signing_key()
    key_file = workdir / f"AuthKey_{key.key_id}.p8"
    key_file.write_text(key.private_key_pem)
    tls_files, client_identity = None, None
    if tls:
        tls_files, authority = issue_server_tls(workdir)
        if auth == "certificate":
            client_identity = issue_client_identity(workdir, authority, topic)
    spec = LaunchSpec(
        host=host,
        port=port,
        engine=engine,
        topic=topic,
        auth=auth,
        team_id=key.team_id,
        public_keys={key.key_id: key.public_key_pem()},
        tls=tls_files,
        faults=dict(faults or {}),
        seed=seed,
    )
    return Provisioned(spec, key, str(key_file), client_identity)

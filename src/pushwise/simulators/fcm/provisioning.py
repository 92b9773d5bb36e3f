"""Everything a simulated FCM needs before it starts, written into one work directory.

The caller (test harness or CLI) issues the service account and TLS material, so
it can hand them to pushwise, and writes a `FcmLaunchSpec` that the server process
reads. The service account's private key never goes to the server: it gets the
public key only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pushwise.simulators.apns.certs import TlsFiles, issue_server_tls
from pushwise.simulators.apns.recording import DEFAULT_HISTORY_SIZE
from pushwise.simulators.fcm.faults import parse_fcm_faults
from pushwise.simulators.fcm.oauth import new_service_account
from pushwise.simulators.fcm.service import TOKEN_PATH


@dataclass(frozen=True, slots=True)
class FcmLaunchSpec:
    host: str
    port: int
    project_id: str
    client_email: str
    public_keys: dict[str, str]  # private_key_id -> public key PEM
    tls: TlsFiles | None
    faults: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    history_size: int = DEFAULT_HISTORY_SIZE

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return self.endpoint + TOKEN_PATH

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))

    @classmethod
    def read(cls, path: Path) -> FcmLaunchSpec:
        raw = orjson.loads(path.read_bytes())
        tls = raw.pop("tls")
        return cls(**raw, tls=TlsFiles(**tls) if tls else None)


@dataclass(frozen=True, slots=True)
class ProvisionedFcm:
    spec: FcmLaunchSpec
    service_account: dict[str, Any]
    service_account_file: str


def provision_fcm(
    workdir: Path,
    *,
    host: str = "127.0.0.1",
    port: int,
    tls: bool,
    project_id: str,
    faults: dict[str, Any] | None,
    seed: int,
) -> ProvisionedFcm:
    """Issue the service account (and TLS material) into `workdir` and describe the server to launch."""
    parse_fcm_faults(faults)  # fail here, in the caller, rather than in the server process
    workdir.mkdir(parents=True, exist_ok=True)
    tls_files = issue_server_tls(workdir)[0] if tls else None
    endpoint = f"{'https' if tls else 'http'}://{host}:{port}"
    account = new_service_account(project_id, endpoint + TOKEN_PATH)
    key_file = workdir / "service-account.json"
    key_file.write_bytes(orjson.dumps(account.key_file, option=orjson.OPT_INDENT_2))
    spec = FcmLaunchSpec(
        host=host,
        port=port,
        project_id=project_id,
        client_email=account.key_file["client_email"],
        public_keys={account.key_file["private_key_id"]: account.public_key_pem},
        tls=tls_files,
        faults=dict(faults or {}),
        seed=seed,
    )
    return ProvisionedFcm(spec, account.key_file, str(key_file))

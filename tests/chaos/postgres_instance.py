"""A PostgreSQL server of the test's own, in a temporary directory on a free port.

The PostgreSQL-restart scenario stops and starts its server mid-campaign; doing that to the
machine's shared server would break every other suite using it. `initdb` and `pg_ctl` come from
the newest installed version (Debian keeps them in /usr/lib/postgresql/<version>/bin); as root they
run as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pushwise.simulators.handle import free_port


def postgres_bin() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`, or None where PostgreSQL is not installed."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.iterdir(), key=lambda p: int(p.name)) if root.is_dir() else []
    for candidate in [*(v / "bin" for v in reversed(versions)), *_on_path()]:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _on_path() -> list[Path]:
    found = shutil.which("pg_ctl")
    return [Path(found).parent] if found else []


@dataclass
class PostgresInstance:
    bin: Path
    data: Path
    port: int
    _as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _pg_ctl(self, *args: str) -> None:
        command = [*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]
        subprocess.run(command, check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self._pg_ctl("-l", str(self.data / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-l", str(self.data / "server.log"), "restart")


@contextlib.contextmanager
def postgres_instance(bin_dir: Path) -> Iterator[PostgresInstance]:
    """initdb (trust auth on loopback, small buffers), start, yield, stop and remove."""
    base = Path(tempfile.mkdtemp(prefix="pushwise-chaos-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
            "shared_buffers = 32MB\nmax_connections = 60\n"
        )
    instance = PostgresInstance(bin_dir, data, port, as_user)
    instance.start()
    try:
        yield instance
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            instance.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)

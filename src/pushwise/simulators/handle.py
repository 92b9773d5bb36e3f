"""What every simulator handle shares: its subprocess and the JSON control API under `/_sim`.

Each simulator runs in a subprocess so it never competes with the code under test for
the event loop (and a benchmark's peer gets its own core). The per-provider handles
(`apns`, `fcm`, `webpush`, `smtp`) add their launch details and provider-only controls.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import httpx

_READY_TIMEOUT_S = 30.0
_READY_PROBE_TIMEOUT_S = 2.0


class SimulatorControlError(RuntimeError):
    """The control API refused a call (bad fault configuration, unsupported by the engine)."""


def free_port() -> int:
    """A port the kernel just considered free; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def work_directory(workdir: str | None, prefix: str) -> tuple[Path, str | None]:
    """The directory to provision into, and the temporary one the handle owns (None: the caller's)."""
    owned = None if workdir else tempfile.mkdtemp(prefix=prefix)
    return Path(workdir or owned or "."), owned


def spawn(module: str, spec_file: Path, log_file: Path) -> subprocess.Popen[bytes]:
    """Run `python -m module spec_file` with stdout and stderr going to `log_file`."""
    with log_file.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, str(spec_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


class SimulatorHandle:
    """Mixin for the frozen handle dataclasses: process lifetime and the common control calls."""

    LABEL: ClassVar[str] = "simulator"  # names the simulator in start-up errors
    CONTROL_TIMEOUT_S: ClassVar[float] = 60.0  # per-token counts for 100k tokens are a few MB of JSON
    ca_file: str | None
    _process: subprocess.Popen[bytes] | None
    _owned_workdir: str | None

    if TYPE_CHECKING:

        @property
        def control_url(self) -> str:
            """Base URL of the control API (a field or a property in the concrete handle)."""
            raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """The simulator's counters (see the concrete handle's docstring for its keys)."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def set_faults(self, faults: dict[str, Any]) -> None:
        self._call("PUT", "faults", faults)

    def reset(self) -> None:
        """Forget what was received and the faults; restart the fault draws from the seed."""
        self._call("POST", "reset")

    async def astats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._acall("GET", "stats")
        return result

    async def aset_faults(self, faults: dict[str, Any]) -> None:
        await self._acall("PUT", "faults", faults)

    async def areset(self) -> None:
        await self._acall("POST", "reset")

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._owned_workdir:
            shutil.rmtree(self._owned_workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def control_client_options(self) -> dict[str, Any]:
        """httpx client options that reach the control API."""
        options: dict[str, Any] = {"timeout": self.CONTROL_TIMEOUT_S}
        if self.ca_file:
            options["verify"] = ssl.create_default_context(cafile=self.ca_file)
        return options

    def wait_until_ready(self, log_file: Path) -> Self:
        """Block until the control API answers; stop the simulator (and say why) if it never does."""
        try:
            self._poll_health(log_file)
        except BaseException:
            self.stop()
            raise
        return self

    def _poll_health(self, log_file: Path) -> None:
        process = self._process
        deadline = time.monotonic() + _READY_TIMEOUT_S
        with httpx.Client(**{**self.control_client_options(), "timeout": _READY_PROBE_TIMEOUT_S}) as client:
            while time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{self.LABEL} exited with {process.returncode}:\n{log_file.read_text()}"
                    )
                try:
                    if client.get(f"{self.control_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise TimeoutError(f"{self.LABEL} did not start within {_READY_TIMEOUT_S}s:\n{log_file.read_text()}")

    def _call(self, method: str, route: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        with httpx.Client(**self.control_client_options()) as client:
            return _result(client.request(method, f"{self.control_url}/{route}", json=body, params=params))

    async def _acall(self, method: str, route: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(**self.control_client_options()) as client:
            return _result(await client.request(method, f"{self.control_url}/{route}", json=body))


class OutageControl(SimulatorHandle):
    """A simulator that can answer every request as if the service were down."""

    def set_outage(self, on: bool) -> None:
        self._call("PUT", "outage", {"on": on})

    async def aset_outage(self, on: bool) -> None:
        await self._acall("PUT", "outage", {"on": on})


class TokenCounting(OutageControl):
    """A push simulator that keeps per-device-token counts and recent requests (APNs, FCM)."""

    def token_counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = self._call("GET", "tokens")
        return result

    def received(self, token: str) -> list[dict[str, Any]]:
        """Recent requests for `token` (oldest first): token, at, headers, payload, status, reason."""
        result: list[dict[str, Any]] = self._call("GET", f"tokens/{token}")
        return result

    async def atoken_counts(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = await self._acall("GET", "tokens")
        return result

    async def areceived(self, token: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._acall("GET", f"tokens/{token}")
        return result


def _result(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise SimulatorControlError(response.json().get("error", response.text))
    return response.json()

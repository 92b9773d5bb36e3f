"""A real `pushwise serve` process for the chaos scenarios, driven over HTTP on loopback.

The scenarios break what is around the server (its disk, its provider), so they run the server
as users do: its own process, its own event loop, its workers inside, measured from outside.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.simulators.handle import free_port

ADMIN_KEY = "pw_admin_chaos-0123456789abcdef0123"
FINAL = ("delivered", "failed", "expired", "cancelled", "suppressed", "fallback")


@dataclass(frozen=True)
class ChaosApp:
    id: str
    headers: dict[str, str]


class LiveServer:
    def __init__(
        self,
        workdir: Path,
        database_url: str,
        env: Mapping[str, str] | None = None,
        *,
        command: str = "serve",
    ) -> None:
        """`command`: `serve` (API and workers) or `api` (no workers)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"serve-{self.port}.log"
        environment = {
            **os.environ,
            "PUSHWISE_DATABASE_URL": database_url,
            "PUSHWISE_ADMIN_KEY": ADMIN_KEY,
            "PUSHWISE_SECRET_KEY_FILE": str(workdir / "pushwise.key"),
            "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
            "PUSHWISE_API_RATE_LIMIT": "0",
            "PUSHWISE_API_RATE_LIMIT_PER_IP": "0",
            "PUSHWISE_WORKER_POLL_SECONDS": "0.05",
            "PUSHWISE_LOG_LEVEL": "warning",
            **(env or {}),
        }
        argv = [sys.executable, "-m", "pushwise", command, "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(argv, env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.http = httpx.AsyncClient(base_url=self.base, timeout=30)

    async def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pushwise serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if (await self.http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("pushwise serve did not become ready")

    async def apns_app(self, simulator: ApnsSimulatorHandle, name: str = "shop") -> ChaosApp:
        """A new app whose APNs provider is `simulator`."""
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        created = (await self.http.post("/v1/apps", json={"name": name}, headers=admin)).json()
        app = ChaosApp(created["id"], {"authorization": f"Bearer {created['server_key']}"})
        provider = {
            "team_id": simulator.team_id,
            "key_id": simulator.key_id,
            "private_key": simulator.private_key_pem,
            "topic": simulator.topic,
            "environment": "development",
            "endpoint": simulator.endpoint,
            "ca_file": simulator.ca_file,
        }
        answer = await self.http.put(f"/v1/apps/{app.id}/providers/apns", json=provider, headers=app.headers)
        answer.raise_for_status()
        return app

    async def register(self, app: ChaosApp, tokens: list[str]) -> list[str]:
        """Register iPhones with these tokens; returns their device ids."""
        ids: list[str] = []
        for start in range(0, len(tokens), 1000):
            batch = [{"platform": "ios", "token": token} for token in tokens[start : start + 1000]]
            answer = await self.http.post("/v1/devices:batch", json={"devices": batch}, headers=app.headers)
            answer.raise_for_status()
            ids += [item["id"] for item in answer.json()["items"]]
        return ids

    async def send(self, app: ChaosApp, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/v1/notifications", json=body, headers=app.headers)

    async def counts(self, app: ChaosApp, notification_id: str) -> dict[str, int]:
        answer = await self.http.get(f"/v1/notifications/{notification_id}", headers=app.headers)
        answer.raise_for_status()
        return {state: n for state, n in answer.json()["counts"].items() if n}

    async def list_apps(self) -> httpx.Response:
        """An admin read that needs the database (the admin key itself is checked without it)."""
        return await self.http.get("/v1/apps", headers={"authorization": f"Bearer {ADMIN_KEY}"})

    def rss_mib(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 2**20

    async def stop(self) -> None:
        await self.http.aclose()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 10)

"""APNs delivery benchmark: raw ceiling, aioapns, pushwise's client, pushwise end to end.

All four run in one invocation against one peer process, so the figures that matter
are the ratios. The peer is the APNs simulator (granian engine, which checks every
request's token and payload) or, with `--peer node`, a lean HTTP/2 peer in Node
(`bench/apns_peer.mjs`, nghttp2) that answers 200 and checks nothing, so the wire costs
as little as it can. Pushwise end to end runs as a real `pushwise serve` subprocess on a
fresh SQLite file: accepted by the API for N devices until every delivery has an outcome.

    python bench/bench_apns.py --peer node --devices 1000000 --compare-gate 1 --skip-plain-e2e
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
from pyreqwest.client import ClientBuilder

sys.path.insert(0, str(Path(__file__).parent))

from apns_clients import (
    measure_aioapns,
    measure_h2_raw,
    measure_pushwise_client,
    measure_pyreqwest_raw,
    simulator_provider,
)

from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.simulators.apns.provisioning import LaunchSpec
from pushwise.simulators.handle import free_port

FINAL = ("delivered", "failed", "expired", "cancelled", "suppressed", "fallback")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: the cost per request, whatever the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time so far per kind of thread: the event loop (the main thread), pyreqwest's Rust
    runtime (`pyreqwest`, `tokio-*` threads) and the rest (the database threads: SQLite and its Python)."""
    kinds: dict[str, float] = {"event loop": 0.0, "rust transport": 0.0, "database threads": 0.0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        kind = (
            "event loop"
            if task.name == str(pid)
            else "rust transport"
            if comm.startswith(("pyreqwest", "tokio"))
            else "database threads"
        )
        kinds[kind] += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return kinds


class NodePeer:
    """`bench/apns_peer.mjs` on the simulator's TLS certificate, so every client (aioapns too, which
    speaks TLS only) trusts it as it trusts the simulator; the simulator stays up for its keys."""

    def __init__(self, sim: ApnsSimulatorHandle, workdir: str) -> None:
        tls = LaunchSpec.read(Path(workdir) / "simulator.json").tls
        if tls is None:
            raise ValueError("the Node peer needs the simulator's TLS files")
        port = free_port()
        script = Path(__file__).with_name("apns_peer.mjs")
        self.process = subprocess.Popen(
            ["node", str(script), str(port), tls.cert_file, tls.key_file], stdout=subprocess.PIPE
        )
        if self.process.stdout is None or self.process.stdout.readline().strip() != b"ready":
            raise RuntimeError("the Node APNs peer did not start")
        self.handle = dataclasses.replace(sim, endpoint=f"https://127.0.0.1:{port}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class PushwiseServer:
    def __init__(self, workdir: str, port: int, env: Mapping[str, str] | None = None) -> None:
        self.db_path = f"{workdir}/bench.db"
        self.admin_key = "pw_admin_bench_" + secrets.token_hex(12)
        env = {
            **os.environ,
            "PUSHWISE_DATABASE_URL": f"sqlite:///{self.db_path}",
            "PUSHWISE_ADMIN_KEY": self.admin_key,
            "PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": "true",
            "PUSHWISE_SECRET_KEY_FILE": f"{workdir}/pushwise.key",
            "PUSHWISE_LOG_LEVEL": "warning",
            **(env or {}),
        }
        self.base = f"http://127.0.0.1:{port}"
        # BENCH_MODE: `serve` (API and workers in one process), `api` (no workers), or
        # `split` (`pushwise api` plus a `pushwise worker` process on the same database).
        mode = os.environ.get("BENCH_MODE", "serve")
        command = "api" if mode == "split" else mode
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pushwise", command, "--port", str(port)], env=env
        )
        self.processes = [self.process]
        self._worker_env = env if mode == "split" else None
        self._profiler: subprocess.Popen[bytes] | None = None

    def start_profile(self) -> None:
        """BENCH_PROFILE=DIR: py-spy samples the server (the thread holding the GIL) into
        DIR/<pid>.txt as collapsed stacks; `bench/profile_summary.py` turns them into µs per delivery."""
        if profile_dir := os.environ.get("BENCH_PROFILE"):
            pid, output = str(self.process.pid), f"{profile_dir}/{self.process.pid}.txt"
            sampling = ["--nonblocking", "--gil", "--rate", "200", "--format", "raw"]
            self._profiler = subprocess.Popen(
                ["py-spy", "record", "--pid", pid, *sampling, "--output", output],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop_profile(self) -> None:
        if self._profiler is not None:  # py-spy writes its file when interrupted
            self._profiler.send_signal(signal.SIGINT)
            self._profiler.wait(timeout=60)
            self._profiler = None

    async def wait_ready(self, client: httpx.AsyncClient) -> None:
        for _ in range(600):  # a minute: start-up is slow on a shared, loaded machine
            try:
                if (await client.get(f"{self.base}/readyz")).status_code == 200:
                    if self._worker_env is not None:  # after the API has created the schema
                        worker = [sys.executable, "-m", "pushwise", "worker"]
                        started = await asyncio.to_thread(subprocess.Popen, worker, env=self._worker_env)
                        self.processes.append(started)
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("pushwise did not become ready")

    async def apns_app(
        self, client: httpx.AsyncClient, sim: ApnsSimulatorHandle
    ) -> tuple[str, dict[str, str]]:
        """A new app whose APNs provider is the simulator: its id and server-key headers."""
        admin = {"authorization": f"Bearer {self.admin_key}"}
        app = (await client.post(f"{self.base}/v1/apps", json={"name": "bench"}, headers=admin)).json()
        headers = {"authorization": f"Bearer {app['server_key']}"}
        (
            await client.put(
                f"{self.base}/v1/apps/{app['id']}/providers/apns",
                headers=headers,
                json=simulator_provider(sim),
            )
        ).raise_for_status()
        return app["id"], headers

    def stop(self) -> None:
        self.stop_profile()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def gate_policy(now: float) -> dict[str, object]:
    """Caps, a gap and quiet hours that all apply to every delivery (and let it through: one
    notification per user, and quiet hours four hours away), so the run pays the gate's whole
    cost: the users' state read, every check, and a ledger slot reserved per delivery."""
    hour = time.gmtime(now).tm_hour
    return {
        "caps": [
            {"window_seconds": 86_400, "max": 10},
            {"window_seconds": 3600, "max": 3, "category": "promotions"},
        ],
        "min_gap_seconds": 60,
        "quiet_hours": {"start": f"{(hour + 4) % 24:02d}:00", "end": f"{(hour + 6) % 24:02d}:00"},
    }


async def end_to_end(
    sim: ApnsSimulatorHandle,
    devices: int,
    workdir: str,
    port: int,
    env: Mapping[str, str] | None = None,
    *,
    users: bool = False,
    gate: bool = False,
) -> dict[str, float]:
    """`users`: each device belongs to a user of its own; `gate`: the app has categories and a
    policy (`gate_policy`) and the notification a category, so every delivery meets the gate."""
    server = PushwiseServer(workdir, port, env)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            await server.wait_ready(client)
            app_id, headers = await server.apns_app(client, sim)
            if gate:
                categories = [{"key": "promotions", "name": "Promotions"}]
                app_path = f"{server.base}/v1/apps/{app_id}"
                (
                    await client.put(f"{app_path}/categories", headers=headers, json=categories)
                ).raise_for_status()
                (
                    await client.put(f"{app_path}/policy", headers=headers, json=gate_policy(time.time()))
                ).raise_for_status()
            for start in range(0, devices, 1000):
                batch = [
                    {"platform": "ios", "token": f"{start + n:064x}"}
                    | ({"user_id": f"u{start + n}"} if users else {})
                    for n in range(min(1000, devices - start))
                ]
                (
                    await client.post(
                        f"{server.base}/v1/devices:batch", headers=headers, json={"devices": batch}
                    )
                ).raise_for_status()
            rss_before = current_rss_mib(server.process.pid)
            server.start_profile()
            cpu_before = cpu_seconds(server.process.pid)
            threads_before = thread_cpu_seconds(server.process.pid)
            began = time.perf_counter()
            accepted = (
                (
                    await client.post(
                        f"{server.base}/v1/notifications",
                        headers=headers,
                        json={
                            "to": {"all": True},
                            "content": {"title": "Bench", "body": "hello"},
                        }
                        | ({"category": "promotions"} if gate else {}),
                    )
                )
                .raise_for_status()
                .json()
            )
            accept_seconds = time.perf_counter() - began
            rss_after_accept = current_rss_mib(server.process.pid)
            while True:
                counts = (
                    await client.get(f"{server.base}/v1/notifications/{accepted['id']}", headers=headers)
                ).json()["counts"]
                if sum(counts[s] for s in FINAL) >= accepted["recipients"]:
                    break
                await asyncio.sleep(0.5)  # polling costs the server work; the clock is read from the rows
            peak = peak_rss_mib(server.process.pid)
            cpu_used = cpu_seconds(server.process.pid) - cpu_before
            threads_after = thread_cpu_seconds(server.process.pid)
            server.stop_profile()
            one_device = await single_device_latency(
                client, server.base, headers, f"{0:064x}", rate=200, seconds=10
            )
    finally:
        server.stop()
    with sqlite3.connect(server.db_path) as db:
        campaign = (accepted["id"],)
        latencies = [
            row[0]
            for row in db.execute(
                "SELECT outcome_at - accepted_at FROM deliveries WHERE notification_id = ?", campaign
            )
        ]
        delivered = db.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'delivered' AND notification_id = ?", campaign
        ).fetchone()[0]
    # Accepted to last outcome, both stamped by the server: no polling interval in the figure.
    total_seconds = max(latencies)
    return {
        "deliveries": float(accepted["recipients"]),
        "delivered": float(delivered),
        "accept_s": accept_seconds,
        "throughput": accepted["recipients"] / total_seconds,
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "rss_before": rss_before,
        "rss_after_accept": rss_after_accept,
        "peak_rss": peak,
        "cpu_us_per_delivery": cpu_used / accepted["recipients"] * 1e6,
        **{
            f"cpu_us_{kind.replace(' ', '_')}": (threads_after[kind] - threads_before[kind])
            / accepted["recipients"]
            * 1e6
            for kind in threads_after
        },
        "single_p50_ms": one_device[0],
        "single_p99_ms": one_device[1],
    }


async def single_device_latency(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], token: str, rate: int, seconds: int
) -> tuple[float, float]:
    """Open-loop load: one notification for one device every 1/rate seconds; latency per request."""
    device = (
        await client.post(f"{base}/v1/devices", headers=headers, json={"platform": "ios", "token": token})
    ).json()
    body = {
        "to": {"device_ids": [device["id"]]},
        "content": {"title": "Order shipped", "body": "On its way"},
        "priority": "transactional",
    }
    latencies: list[float] = []
    # The load generator must not be the bottleneck: a Rust client costs far less CPU per request
    # than httpx, which matters when it shares two cores with the server and the simulator.
    # Idle connections are dropped before the server's 5 s keep-alive runs out, so a request
    # never races the server closing the connection it was sent on (a reset, not a server fault).
    sender = ClientBuilder().http1_only().pool_idle_timeout(timedelta(seconds=2)).build()
    payload = orjson.dumps(body)
    request_headers = {**headers, "content-type": "application/json"}

    async def one() -> None:
        began = time.perf_counter()
        request = sender.post(f"{base}/v1/notifications").headers(request_headers).body_bytes(payload).build()
        response = await request.send()
        await response.bytes()
        assert response.status == 202, response.status
        latencies.append((time.perf_counter() - began) * 1000)

    tasks = []
    start = time.perf_counter()
    for n in range(rate * seconds):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    await sender.close()
    return statistics.median(latencies), percentile(latencies, 0.99)


def print_end_to_end(title: str, e2e: Mapping[str, float], devices: int) -> None:
    print(f"\n{title}: {e2e['deliveries']:.0f} deliveries, {e2e['delivered']:.0f} delivered")
    print(
        f"accept of {devices} devices: {e2e['accept_s'] * 1000:.0f} ms; "
        f"server RSS {e2e['rss_before']:.0f} MiB before, {e2e['rss_after_accept']:.0f} MiB after accept, "
        f"peak {e2e['peak_rss']:.0f} MiB"
    )
    print(f"accept-to-outcome latency: p50 {e2e['p50']:.2f} s, p99 {e2e['p99']:.2f} s")
    print(
        f"server CPU per delivery (accept to last outcome): {e2e['cpu_us_per_delivery']:.0f} µs "
        f"(event loop {e2e['cpu_us_event_loop']:.0f}, database threads {e2e['cpu_us_database_threads']:.0f}, "
        f"Rust transport {e2e['cpu_us_rust_transport']:.0f})"
    )
    print(
        f"POST /v1/notifications for one device at 200 req/s: p50 {e2e['single_p50_ms']:.1f} ms, "
        f"p99 {e2e['single_p99_ms']:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--client-requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--client-rounds", type=int, default=5, help="interleaved rounds of (a)-(c); medians are printed"
    )
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument(
        "--peer",
        choices=("simulator", "node"),
        default="simulator",
        help="what answers the requests: the APNs simulator (granian) or the lean Node http2 peer",
    )
    parser.add_argument(
        "--skip-plain-e2e",
        action="store_true",
        help="with --compare-gate: no separate (d) run without users (it costs a whole campaign)",
    )
    parser.add_argument(
        "--compare-gate",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also run (d) with every device a user's, gate off and on (caps, gap, quiet hours, a "
        "category), ROUNDS times interleaved; prints medians and the on/off ratio",
    )
    parser.add_argument(
        "--compare-monitoring",
        action="store_true",
        help="run (d) also with PUSHWISE_MONITORING=0 and print what metrics and rollups cost",
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="pushwise-bench-")
    simulator = start_apns_simulator(tls=True, seed=1, workdir=workdir, engine="granian")
    node = NodePeer(simulator, workdir) if args.peer == "node" else None
    sim = node.handle if node is not None else simulator
    try:
        n, c = args.client_requests, args.concurrency
        # Interleaved rounds, medians: on a shared machine the speed drifts by tens of
        # percent between minutes, and a drift must not land on one client only.
        measures = {
            "pyreqwest": measure_pyreqwest_raw,
            "h2": measure_h2_raw,
            "aioapns": measure_aioapns,
            "client": measure_pushwise_client,
        }
        rounds: dict[str, list[float]] = {name: [] for name in measures}
        for _ in range(args.client_rounds):
            for name, measure in measures.items():
                sim.reset()  # every client meets the simulator in the same state
                rounds[name].append(await measure(sim, n, c))
        raw_pyreqwest, raw_h2, aioapns, client = (statistics.median(rounds[k]) for k in rounds)
        sim.reset()
        plain = not (args.skip_plain_e2e and args.compare_gate)
        e2e = await end_to_end(sim, args.devices, workdir, args.port) if plain else None
        gated: dict[str, list[float]] = {"off": [], "on": []}
        gated_runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        for round_number in range(args.compare_gate):
            for mode in ("off", "on"):
                sim.reset()
                gate_dir = tempfile.mkdtemp(prefix=f"gate-{mode}-{round_number}-", dir=workdir)
                run = await end_to_end(sim, args.devices, gate_dir, args.port, users=True, gate=mode == "on")
                assert run["delivered"] == run["deliveries"], run
                gated[mode].append(run["throughput"])
                gated_runs[mode].append(run)
        unmonitored = None
        if args.compare_monitoring:
            sim.reset()
            quiet_dir = tempfile.mkdtemp(prefix="unmonitored-", dir=workdir)
            unmonitored = await end_to_end(
                sim, args.devices, quiet_dir, args.port, {"PUSHWISE_MONITORING": "0"}
            )
    finally:
        if node is not None:
            node.stop()
        simulator.stop()
    ceiling = max(raw_pyreqwest, raw_h2)
    print(
        f"\nAPNs benchmark against the {args.peer} peer ({n} requests at concurrency {c} for clients; "
        f"{args.devices} devices end to end)"
    )
    print(f"{'what':44} {'deliveries/s':>13} {'vs ceiling':>11} {'vs pyreqwest':>13} {'vs aioapns':>11}")
    rows = [
        ("(a) raw pyreqwest", raw_pyreqwest),
        ("(a) raw h2", raw_h2),
        ("(b) aioapns", aioapns),
        ("(c) pushwise APNs client", client),
    ]
    if e2e is not None:
        rows.append(("(d) pushwise end to end (SQLite)", e2e["throughput"]))
    if args.compare_gate:
        rows.append(("(d) end to end, users, gate off", statistics.median(gated["off"])))
        rows.append(("(d) end to end, users, gate on", statistics.median(gated["on"])))
    for name, rate in rows:
        ratios = f"{rate / ceiling:11.2f} {rate / raw_pyreqwest:13.2f} {rate / aioapns:11.2f}"
        print(f"{name:44} {rate:13.0f} {ratios}")
    paired = [
        client_rate / max(raw, h2)
        for client_rate, raw, h2 in zip(rounds["client"], rounds["pyreqwest"], rounds["h2"], strict=True)
    ]
    print(
        f"(c) / ceiling within each round: {', '.join(f'{r:.2f}' for r in paired)}; "
        f"median {statistics.median(paired):.2f}"
    )
    if e2e is not None:
        print_end_to_end("(d) end to end", e2e, args.devices)
    for mode in ("off", "on") if args.compare_gate else ():
        for number, run in enumerate(gated_runs[mode], 1):
            print_end_to_end(f"(d) users, gate {mode}, round {number}", run, args.devices)
    if args.compare_gate:
        off, on = statistics.median(gated["off"]), statistics.median(gated["on"])
        rounds_off, rounds_on = (", ".join(f"{r:.0f}" for r in gated[mode]) for mode in ("off", "on"))
        print(
            f"\n(d) users, gate off: {off:.0f} deliveries/s; gate on (caps, gap, quiet hours, category): "
            f"{on:.0f} deliveries/s (medians of {args.compare_gate} interleaved rounds: "
            f"off {rounds_off}; on {rounds_on})"
        )
        print(f"gate on / off: {on / off:.2f}; gate on / aioapns: {on / aioapns:.2f}")
    if unmonitored is not None:
        assert e2e is not None, "--compare-monitoring needs the plain end-to-end run"
        on, off = e2e["throughput"], unmonitored["throughput"]
        print(
            f"\n(d) with monitoring {on:.0f} deliveries/s, without (PUSHWISE_MONITORING=0) {off:.0f} "
            f"deliveries/s: ratio on/off {on / off:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())

"""Schemathesis against a running `pushwise serve`, from its own OpenAPI document.

Run inside a loopback-only network namespace (`test_api_fuzz.py` makes one): generated input
names URLs (webhooks, receipts, provider endpoints, Web Push subscriptions) and the server acts on
some of them, so the namespace, which has nothing but `lo`, is what guarantees that no request
leaves the machine. The server runs with its production defaults otherwise (private endpoints
refused, workers on), except rate limits, which the fuzzer would spend in a second.

    python -m tests.integration.api_fuzz --seconds 600      # a longer run (inside a namespace!)

Prints schemathesis's own account and one summary line; with `--report PATH` keeps the JSON report
there and the server's log beside it. Exits non-zero on any failure or any unhandled server error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "pw_admin_fuzzing-0123456789abcdef0123456789"
# Server-Sent Events never end; a fuzzer request would wait for its timeout every time.
EXCLUDED_PATHS = ("/v1/inbox/stream",)
# Valid by the schema is not always valid (a PEM that is no key, a token of the wrong length), and
# invalid by the schema is not always refused: Pydantic's lax mode takes `0` for a date-time and
# `"7"` for an integer, losslessly, by design. What must hold is checked: no server error, no answer
# outside its own schema or status list, every error in the documented shape, auth enforced.
EXCLUDED_CHECKS = ("positive_data_acceptance", "negative_data_rejection")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUSHWISE_DATABASE_URL": f"sqlite:///{workdir / 'fuzz.db'}",
        "PUSHWISE_ADMIN_KEY": ADMIN_KEY,
        "PUSHWISE_SECRET_KEY_FILE": str(workdir / "pushwise.key"),
        "PUSHWISE_API_RATE_LIMIT": "0",
        "PUSHWISE_API_RATE_LIMIT_PER_IP": "0",
        "PUSHWISE_LOG_LEVEL": "warning",
    }
    log = (workdir / "server.log").open("wb")
    command = [sys.executable, "-m", "pushwise", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {(workdir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not become ready")


def fuzzed_app(base: str) -> tuple[str, str]:
    """The app the fuzzer works in: its id (for every `{app_id}` path) and its server key."""
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    app = httpx.post(f"{base}/v1/apps", json={"name": "fuzzed"}, headers=admin, timeout=10).json()
    return str(app["id"]), str(app["server_key"])


def run_schemathesis(base: str, app: tuple[str, str], seconds: int, report: Path, seed: int) -> int:
    app_id, key = app
    config = report.with_suffix(".toml")
    config.write_text(f'[parameters]\n"path.app_id" = "{app_id}"\n')  # every `{app_id}`: the fuzzed app
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-time",
        str(seconds),
        "--seed",
        str(seed),
        # One worker: CPython 3.11's `compile` is not safe across threads (gh-106905: "AST
        # constructor recursion depth mismatch"), and schemathesis's threads reach it.
        "--workers",
        "1",
        "--max-redirects",
        "0",
        "--request-timeout",
        "15",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "true",
    ]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_checks", "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, env=env, cwd=ROOT, check=False).returncode


def summary(report: Path, unhandled: int) -> str:
    data = json.loads(report.read_text())
    cases, operations = data["test_cases"], data["operations"]
    server_errors = json.dumps(data["failures"]).count("not_a_server_error") + unhandled
    return (
        f"api fuzz: {cases['generated']} test cases over {operations['tested']} operations in "
        f"{data['running_time']:.0f} s: {cases['with_failures']} with failures "
        f"({cases['unique_failures']} unique), {server_errors} server errors, {len(data['errors'])} errors"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--report", type=Path, default=None, help="where to keep schemathesis's JSON report")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pushwise-fuzz-"))
    port = free_port()
    server = start_server(workdir, port)
    base = f"http://127.0.0.1:{port}"
    report = args.report or workdir / "report.json"
    try:
        status = run_schemathesis(base, fuzzed_app(base), args.seconds, report, args.seed)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = (workdir / "server.log").read_text(errors="replace")
    unhandled = log.count("unhandled error")
    print(summary(report, unhandled))
    if args.report:
        report.with_suffix(".server.log").write_text(log)
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if status or unhandled else 0


if __name__ == "__main__":
    sys.exit(main())

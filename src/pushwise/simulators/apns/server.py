"""The simulator process: `python -m pushwise.simulators.apns.server SPEC.json`.

It builds the simulated APNs from a launch spec and serves it with the chosen
engine until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import os

from pushwise.simulators.apns.auth import ProviderTokenVerifier
from pushwise.simulators.apns.faults import parse_faults
from pushwise.simulators.apns.h2_engine import serve_h2
from pushwise.simulators.apns.peer import SimulatedApns
from pushwise.simulators.apns.provisioning import LaunchSpec
from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.apns.rsgi_engine import serve_granian
from pushwise.simulators.apns.validation import TopicRule
from pushwise.simulators.rsgi import run_event_loop, spec_argument, stop_on_signals


def build_apns(spec: LaunchSpec) -> SimulatedApns:
    token_auth = spec.auth == "token"
    verifier = ProviderTokenVerifier(spec.team_id, spec.public_keys) if token_auth else None
    return SimulatedApns(
        topic_rule=TopicRule(spec.topic, topic_required=token_auth),
        verifier=verifier,
        faults=parse_faults(spec.faults),
        seed=spec.seed,
        recorder=Recorder(spec.history_size),
    )


async def serve(spec: LaunchSpec) -> None:
    stop = stop_on_signals()
    watchdog = None
    if spec.parent_pid is not None:
        watchdog = asyncio.create_task(_stop_when_orphaned(spec.parent_pid, stop))
    apns = build_apns(spec)
    try:
        if spec.engine == "h2":
            await serve_h2(spec, apns, stop)
        else:
            await serve_granian(spec, apns, stop)
    finally:
        if watchdog is not None:
            watchdog.cancel()


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """A parent killed with SIGKILL cannot stop us; being re-parented tells us it is gone.

    Polling, because no event announces a parent's death (a stdin pipe would, but forked
    children of the test process would inherit and hold its write end open).
    """
    while os.getppid() == parent_pid:  # noqa: ASYNC110
        await asyncio.sleep(1.0)
    stop.set()


def run(spec: LaunchSpec) -> None:
    """Serve in the foreground until SIGTERM or SIGINT."""
    run_event_loop(serve(spec))


def main(argv: list[str] | None = None) -> None:
    run(LaunchSpec.read(spec_argument(argv, "pushwise.simulators.apns.server")))


if __name__ == "__main__":
    main()

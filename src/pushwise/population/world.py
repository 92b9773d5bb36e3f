"""The provider simulators a study sends to: started once per command, reset for every run.

Each simulator runs in its own process (as in the benchmarks), so the phone side never
competes with the engine for the event loop. A run points its app at them through the
real provider API and turns the population's uninstalls and disabled pushes into dead
tokens there, so the engine meets them as it would in production (410 / UNREGISTERED).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from pushwise.population.strategies import APNS_FAULTS, FCM_FAULTS
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.simulators.fcm.harness import FcmSimulatorHandle, start_fcm_simulator


@dataclass
class Simulators:
    apns: ApnsSimulatorHandle
    fcm: FcmSimulatorHandle

    def provider_bodies(self) -> dict[str, dict[str, Any]]:
        """The bodies of `PUT /v1/apps/{id}/providers/{channel}` that point an app at them."""
        return {
            "apns": {
                "team_id": self.apns.team_id,
                "key_id": self.apns.key_id,
                "private_key": self.apns.private_key_pem,
                "topic": self.apns.topic,
                "environment": "development",
                "endpoint": self.apns.endpoint,
                "ca_file": self.apns.ca_file,
            },
            "fcm": {
                "service_account": self.fcm.service_account,
                "endpoint": self.fcm.endpoint,
                "token_uri": self.fcm.token_uri,
                "ca_file": self.fcm.ca_file,
            },
        }

    async def reset(self) -> None:
        await asyncio.gather(asyncio.to_thread(self.apns.reset), asyncio.to_thread(self.fcm.reset))

    async def set_faults(self, faults: bool, dead_tokens: list[str]) -> None:
        """Technical faults on or off, and the tokens that no longer reach anyone.

        JWTs are minted on the simulated clock, so neither simulator may judge their age by its own.
        """
        apns: dict[str, Any] = {"token_max_age_s": None, "dead_tokens": dead_tokens}
        fcm: dict[str, Any] = {"dead_tokens": dead_tokens, "check_assertion_time": False}
        if faults:
            apns.update(APNS_FAULTS)
            fcm.update(FCM_FAULTS)
        await asyncio.gather(
            asyncio.to_thread(self.apns.set_faults, apns), asyncio.to_thread(self.fcm.set_faults, fcm)
        )


@contextmanager
def simulators(seed: int = 1) -> Iterator[Simulators]:
    with ExitStack() as stack:
        apns = stack.enter_context(
            start_apns_simulator(tls=True, seed=seed, engine="granian", faults={"token_max_age_s": None})
        )
        fcm = stack.enter_context(start_fcm_simulator(tls=True, seed=seed))
        yield Simulators(apns, fcm)

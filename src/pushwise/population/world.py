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
from dataclasses import dataclass, field
from typing import Any

from pushwise.domain.china.vendors import VENDORS
from pushwise.population.strategies import APNS_FAULTS, FCM_FAULTS
from pushwise.simulators.apns.harness import ApnsSimulatorHandle, start_apns_simulator
from pushwise.simulators.china.harness import VendorSimulatorHandle, start_vendor_simulator
from pushwise.simulators.fcm.harness import FcmSimulatorHandle, start_fcm_simulator


@dataclass
class Simulators:
    apns: ApnsSimulatorHandle
    fcm: FcmSimulatorHandle
    vendors: dict[str, VendorSimulatorHandle] = field(default_factory=dict)  # China population only

    def provider_bodies(self) -> dict[str, dict[str, Any]]:
        """The bodies of `PUT /v1/apps/{id}/providers/{channel}` that point an app at them."""
        bodies: dict[str, dict[str, Any]] = {
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
        return bodies | {vendor: sim.provider_config() for vendor, sim in self.vendors.items()}

    async def reset(self) -> None:
        handles = [self.apns, self.fcm, *self.vendors.values()]
        await asyncio.gather(*(asyncio.to_thread(handle.reset) for handle in handles))

    async def set_faults(self, faults: bool, dead_tokens: list[str]) -> None:
        """Technical faults on or off, and the tokens that no longer reach anyone.

        JWTs are minted on the simulated clock, so neither simulator may judge their age by its own.
        """
        apns: dict[str, Any] = {"token_max_age_s": None, "dead_tokens": dead_tokens}
        fcm: dict[str, Any] = {"dead_tokens": dead_tokens, "check_assertion_time": False}
        if faults:
            apns.update(APNS_FAULTS)
            fcm.update(FCM_FAULTS)
        # Vendors sign their auth requests with timestamps: on a simulated clock they are not checked.
        vendor: dict[str, Any] = {"dead_tokens": dead_tokens, "check_timestamps": False}
        await asyncio.gather(
            asyncio.to_thread(self.apns.set_faults, apns),
            asyncio.to_thread(self.fcm.set_faults, fcm),
            *(asyncio.to_thread(sim.set_faults, vendor) for sim in self.vendors.values()),
        )


@contextmanager
def simulators(seed: int = 1, *, china: bool = False) -> Iterator[Simulators]:
    """APNs and FCM; with `china`, the five phone makers' services too."""
    with ExitStack() as stack:
        apns = stack.enter_context(
            start_apns_simulator(tls=True, seed=seed, engine="granian", faults={"token_max_age_s": None})
        )
        fcm = stack.enter_context(start_fcm_simulator(tls=True, seed=seed))
        vendors = {
            vendor: stack.enter_context(
                start_vendor_simulator(vendor, seed=seed, faults={"check_timestamps": False})
            )
            for vendor in (VENDORS if china else ())
        }
        yield Simulators(apns, fcm, vendors)

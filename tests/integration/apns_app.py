"""An app whose APNs credentials point at a running simulator: the set-up most engine tests share."""

from __future__ import annotations

from typing import Any

from pushwise.bootstrap import Services
from pushwise.simulators.apns.harness import ApnsSimulatorHandle
from pushwise.store.apps import AppRepository
from pushwise.store.credentials import CredentialRepository
from pushwise.store.sealing import Sealer


def apns_public(simulator: ApnsSimulatorHandle) -> dict[str, Any]:
    """The non-secret APNs settings for `simulator`, as the API would store them."""
    return {
        "auth": "token",
        "team_id": simulator.team_id,
        "key_id": simulator.key_id,
        "topic": simulator.topic,
        "environment": "development",
        "endpoint": simulator.endpoint,
        "ca_file": simulator.ca_file,
    }


async def app_sending_to(services: Services, simulator: ApnsSimulatorHandle, name: str = "shop") -> str:
    """Create an app with token-auth APNs credentials for `simulator`; returns the app id."""
    app_id = (await AppRepository(services.db, services.clock).create_with_keys(name)).app.id
    await CredentialRepository(services.db, services.clock, Sealer(services.secret_key)).put(
        app_id, "apns", apns_public(simulator), {"private_key": simulator.private_key_pem}
    )
    return app_id

"""A loopback simulator of Apple's APNs provider API (HTTP/2, token and certificate auth, faults)."""

from pushwise.simulators.apns.harness import (
    ApnsSimulatorHandle,
    SimulatorControlError,
    astart_apns_simulator,
    start_apns_simulator,
)

__all__ = ["ApnsSimulatorHandle", "SimulatorControlError", "astart_apns_simulator", "start_apns_simulator"]

"""A loopback simulator of Firebase Cloud Messaging's HTTP v1 API and Google's OAuth2 token endpoint."""

from pushwise.simulators.fcm.harness import FcmSimulatorHandle, astart_fcm_simulator, start_fcm_simulator

__all__ = ["FcmSimulatorHandle", "astart_fcm_simulator", "start_fcm_simulator"]

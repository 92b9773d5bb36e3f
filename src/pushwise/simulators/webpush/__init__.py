"""A loopback Web Push service (RFC 8030/8291/8292) that holds real subscription keys and decrypts."""

from pushwise.simulators.webpush.harness import WebPushSimulatorHandle, start_webpush_simulator

__all__ = ["WebPushSimulatorHandle", "start_webpush_simulator"]

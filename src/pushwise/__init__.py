"""pushwise: durable push notifications with fatigue control and live monitoring."""

__version__ = "0.2.0"

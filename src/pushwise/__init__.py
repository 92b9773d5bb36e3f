"""pushwise: durable push notifications with fatigue control and live monitoring."""

__version__ = "0.1.0"

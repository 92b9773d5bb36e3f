"""A loopback SMTP sink (aiosmtpd) with STARTTLS, AUTH and injected reply codes."""

from pushwise.simulators.smtp.harness import SmtpSimulatorHandle, start_smtp_simulator

__all__ = ["SmtpSimulatorHandle", "start_smtp_simulator"]

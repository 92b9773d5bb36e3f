"""Metrics, rollups, alert rules and sinks, credential health: seeing failures as they happen."""

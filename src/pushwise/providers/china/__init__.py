"""Adapters for the Chinese phone makers' push services, behind the shared `Provider` protocol."""

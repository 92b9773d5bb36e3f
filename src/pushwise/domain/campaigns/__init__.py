"""Campaigns: one-off, scheduled, recurring and triggered journeys; seasons and holidays. Pure."""

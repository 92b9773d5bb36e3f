"""Persistence: schema, repositories and the durable delivery queue."""

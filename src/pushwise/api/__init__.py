"""The HTTP API v1 (see shared/API.md): `create_app(services)` builds it."""

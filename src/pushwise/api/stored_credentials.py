"""Reading and removing an app's stored provider credentials, for every `/providers/...` route.

Each channel's route module keeps its own PUT (each checks different things) and
its own response model; GET and DELETE differ only in the channel and its name.
"""

from __future__ import annotations

from pushwise.api.errors import not_found
from pushwise.store.credentials import CredentialRepository, CredentialSummary


async def described(
    credentials: CredentialRepository, app_id: str, channel: str, what: str
) -> CredentialSummary:
    """The stored configuration's public part; 404 naming `what` when there is none."""
    summary = await credentials.describe(app_id, channel)
    if summary is None:
        raise not_found(what)
    return summary


async def deleted(
    credentials: CredentialRepository, app_id: str, channel: str, what: str
) -> CredentialSummary:
    """Remove the configuration and answer with what it was; 404 naming `what` when there is none."""
    summary = await credentials.delete(app_id, channel)
    if summary is None:
        raise not_found(what)
    return summary

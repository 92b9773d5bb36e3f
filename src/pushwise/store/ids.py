"""Identifiers for stored objects.

Random, prefixed ids: the prefix tells a human what kind of object an id names
(`app_`, `dev_`, `ntf_`), and 128 random bits make ids unguessable, so knowing
one app's ids says nothing about another's.
"""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"

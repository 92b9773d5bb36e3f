"""API keys: format, hashing, and the authenticator's short-lived cache."""

from __future__ import annotations

import hashlib

import pytest

from pushwise.api.auth import KeyAuthenticator, Principal
from pushwise.domain.clock import ManualClock
from pushwise.store.keys import ApiKeyRecord, hash_key, new_key


class RecordingKeys:
    """Stands in for `KeyRepository.find_active`, counting database lookups."""

    def __init__(self, records: dict[str, ApiKeyRecord]) -> None:
        self.records = records
        self.lookups = 0

    async def find_active(self, key_hash: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return self.records.get(key_hash)


def test_keys_carry_their_kind_and_only_the_hash_is_stored() -> None:
    issued, row = new_key("server", "app_1", 100.0)
    assert issued.secret.startswith("pw_srv_")
    assert len(issued.secret) > 40
    assert row["key_hash"] == hashlib.sha256(issued.secret.encode()).hexdigest() == hash_key(issued.secret)
    assert issued.secret not in row.values()
    assert new_key("client", "app_1", 0.0)[0].secret.startswith("pw_cli_")
    assert new_key("admin", None, 0.0)[0].secret.startswith("pw_admin_")


def test_admin_keys_belong_to_no_app_and_app_keys_to_one() -> None:
    with pytest.raises(ValueError, match="admin"):
        new_key("admin", "app_1", 0.0)
    with pytest.raises(ValueError, match="admin"):
        new_key("server", None, 0.0)


async def test_known_keys_are_cached_until_the_cache_expires() -> None:
    issued, row = new_key("server", "app_1", 0.0)
    keys = RecordingKeys({row["key_hash"]: issued.record})
    clock = ManualClock()
    auth = KeyAuthenticator(keys, clock, None, cache_seconds=5.0)  # type: ignore[arg-type]
    expected = Principal("server", "app_1", issued.record.id)
    assert await auth.authenticate(issued.secret) == expected
    assert await auth.authenticate(issued.secret) == expected
    assert keys.lookups == 1
    clock.advance(5.0)
    keys.records.clear()  # revoked by another process
    assert await auth.authenticate(issued.secret) is None
    assert keys.lookups == 2


async def test_forget_makes_a_revocation_effective_at_once() -> None:
    issued, row = new_key("client", "app_1", 0.0)
    keys = RecordingKeys({row["key_hash"]: issued.record})
    auth = KeyAuthenticator(keys, ManualClock(), None)  # type: ignore[arg-type]
    assert await auth.authenticate(issued.secret) is not None
    keys.records.clear()
    auth.forget(row["key_hash"])
    assert await auth.authenticate(issued.secret) is None


async def test_unknown_keys_are_cached_too_and_the_cache_is_bounded() -> None:
    keys = RecordingKeys({})
    auth = KeyAuthenticator(keys, ManualClock(), None, max_entries=3)  # type: ignore[arg-type]
    for _ in range(3):
        assert await auth.authenticate("pw_srv_guess") is None
    assert keys.lookups == 1
    for n in range(10):
        await auth.authenticate(f"pw_srv_guess{n}")
    assert len(auth._cache) <= 3


async def test_the_configured_admin_key_needs_no_database() -> None:
    keys = RecordingKeys({})
    auth = KeyAuthenticator(keys, ManualClock(), "pw_admin_from-settings")  # type: ignore[arg-type]
    assert await auth.authenticate("pw_admin_from-settings") == Principal("admin", None, None)
    assert await auth.authenticate("pw_admin_from-settingz") is None
    assert keys.lookups == 1

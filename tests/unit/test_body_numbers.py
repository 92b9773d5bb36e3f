"""Integers beyond 64 bits in a JSON body are found (and refused by the body guard); digits in
strings, numbers within range and bodies that are not JSON are left to the app."""

from __future__ import annotations

import pytest

from pushwise.api.body_limit import has_oversized_integer


@pytest.mark.parametrize(
    ("body", "oversized"),
    [
        (b'{"badge": 1}', False),
        (b'{"data": {"n": 9223372036854775807, "m": -9223372036854775808}}', False),
        (b'{"token": "123456789012345678901234567890"}', False),
        (b"key=123456789012345678901234567890", False),
        (b'{"data": {"n": 9223372036854775808}}', True),
        (b'{"items": [{"id": "a", "stock": -99999999999999999999}]}', True),
    ],
)
def test_integers_beyond_64_bits_are_found(body: bytes, oversized: bool) -> None:
    assert has_oversized_integer(body) is oversized

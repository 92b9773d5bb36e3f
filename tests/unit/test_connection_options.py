"""Connection settings refuse values that would leave a transport unable to send."""

from __future__ import annotations

import pytest

from pushwise.providers.http2.options import ConnectionOptions


@pytest.mark.parametrize(
    "settings",
    [
        {"connections": 0},
        {"max_streams_per_connection": 0},
        {"request_timeout": 0.0},
        {"request_timeout": -1.0},
    ],
)
def test_settings_that_cannot_send_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ConnectionOptions(**settings)  # type: ignore[arg-type]


def test_the_defaults_send() -> None:
    options = ConnectionOptions()
    assert (options.connections, options.request_timeout) == (2, 10.0)

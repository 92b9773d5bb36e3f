"""How pyreqwest failures are named, from the cause chains it produced against real peers."""

from __future__ import annotations

import pytest
from pyreqwest import exceptions as pyreqwest_errors

from pushwise.providers.http2.pyreqwest_transport import transport_error_for


def _causes(*messages: str) -> pyreqwest_errors.CauseErrorDetails:
    return {
        "causes": [
            {"message": m} for m in ("error sending request for url (https://127.0.0.1:1/x)", *messages)
        ]
    }


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            pyreqwest_errors.ConnectTimeoutError("connection timeout", _causes("operation timed out")),
            "Timeout",
        ),
        (pyreqwest_errors.ReadTimeoutError("read timeout", _causes("operation timed out")), "Timeout"),
        (
            pyreqwest_errors.ConnectError(
                "connection error",
                _causes(
                    "client error (SendRequest)",
                    "http2 error",
                    "connection error received: not a result of an error",
                ),
            ),
            "GoAway",
        ),
        (
            pyreqwest_errors.ConnectError(
                "connection error",
                _causes("client error (SendRequest)", "connection error", "connection reset"),
            ),
            "ConnectionLost",
        ),
        (
            pyreqwest_errors.ConnectError(
                "connection error",
                _causes(
                    "client error (SendRequest)", "connection error", "stream closed because of a broken pipe"
                ),
            ),
            "ConnectionLost",
        ),
        (
            pyreqwest_errors.ConnectError(
                "connection error",
                _causes("client error (Connect)", "tcp connect error", "Connection refused (os error 111)"),
            ),
            "ConnectError",
        ),
        (
            pyreqwest_errors.ConnectError(
                "connection error",
                _causes("client error (Connect)", "invalid peer certificate: UnknownIssuer"),
            ),
            "TlsError",
        ),
        (pyreqwest_errors.ReadError("read error", _causes("body error")), "ConnectionLost"),
        (pyreqwest_errors.ClientClosedError("client closed", {"causes": None}), "ConnectionLost"),
    ],
)
def test_pyreqwest_failures_are_named_in_our_vocabulary(
    error: pyreqwest_errors.RequestError, reason: str
) -> None:
    failure = transport_error_for(error)
    assert failure.reason == reason
    assert failure.detail

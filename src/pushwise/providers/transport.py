"""The narrow seam between provider logic and HTTP/2 machinery.

Provider adapters speak only this interface: send one request, get a status,
headers and body back, or a `TransportError` for a connection-level failure.
That keeps the APNs and FCM logic testable and lets us swap the client
(pyreqwest today, a minimal `h2` client as the measured fallback) without
touching them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ResponseHeaders(Protocol):
    """Look-up by lower-case name: providers read one or two headers of an answer.

    A plain `dict` qualifies; the pyreqwest transport answers from the client's own
    header map instead of copying every header into a dict per request.
    """

    def get(self, name: str, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TransportResponse:
    status: int
    headers: ResponseHeaders
    body: bytes


class TransportError(Exception):
    """The request failed below HTTP: connect error, lost connection, GOAWAY, timeout.

    `reason` is one of `Timeout`, `ConnectionLost`, `ConnectError`, `GoAway`, `TlsError`;
    all are retryable because the peer may never have seen the request.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Http2Transport(Protocol):
    async def request(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes, timeout: float
    ) -> TransportResponse: ...

    async def close(self) -> None: ...

"""A few reusable SMTP sessions per app: connect, STARTTLS and AUTH once, send many.

A session that failed in any way is closed, never reused, so a half-finished
transaction cannot leak into the next message; one left idle too long is closed
too, because servers drop idle clients (often after 60 s) without telling them.

The server is chosen by app owners, so it follows the SSRF rule: unless private
endpoints are allowed, every new session resolves the host, refuses it unless
all its addresses are public, and connects to the address it checked (a name
checked only when saved could resolve to a private address later). STARTTLS
still verifies the certificate against the host name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiosmtplib

from pushwise.net.endpoint_guard import Resolver, public_addresses, resolve_addresses

_IDLE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    ca_file: str | None = None


class SmtpSessions:
    def __init__(
        self,
        server: SmtpServer,
        *,
        size: int,
        timeout: float,
        allow_private: bool,
        resolve: Resolver = resolve_addresses,
    ) -> None:
        self._server = server
        self._timeout = timeout
        self._allow_private = allow_private
        self._resolve = resolve
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._tls = ssl.create_default_context(cafile=server.ca_file) if server.starttls else None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        async with self._slots:
            smtp = await self._take_idle() or await self._open()
            try:
                yield smtp
            except BaseException:
                await _close(smtp)
                raise
            self._idle.append((smtp, asyncio.get_running_loop().time()))

    async def _take_idle(self) -> aiosmtplib.SMTP | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            smtp, since = self._idle.pop()
            if smtp.is_connected and now - since < _IDLE_SECONDS:
                return smtp
            await _close(smtp)
        return None

    async def _open(self) -> aiosmtplib.SMTP:
        """Raises `EndpointRefused` for a non-public server, `OSError` when its name does not resolve."""
        server = self._server
        address = server.host
        if not self._allow_private:
            address = str((await public_addresses(server.host, server.port, self._resolve))[0])
        smtp = aiosmtplib.SMTP(hostname=address, port=server.port, start_tls=False, timeout=self._timeout)
        try:
            await smtp.connect()
            if server.starttls:
                await smtp.starttls(server_hostname=server.host, tls_context=self._tls)
            if server.username:
                await smtp.login(server.username, server.password or "")
        except BaseException:
            await _close(smtp)
            raise
        return smtp

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for smtp, _since in idle:
            await _close(smtp)


async def _close(smtp: aiosmtplib.SMTP) -> None:
    if not smtp.is_connected:
        return
    try:
        await asyncio.wait_for(smtp.quit(), timeout=2.0)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        smtp.close()

"""Gathering the deliveries of one notification into the vendor's batch requests.

The worker hands a provider a whole claimed batch at once (one task per delivery,
all started in the same turn of the event loop). Every vendor takes up to 1,000
tokens per request, so a provider gathers the dispatches that carry the same
rendered message during that turn and sends them together; each caller still gets
its own token's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pushwise.domain.china.errors import VendorAnswer
from pushwise.domain.outcomes import Outcome

Message = TypeVar("Message")

# Sends one message to some tokens and answers for each of them.
SendBatch = Callable[[Message, Sequence[str]], Awaitable[VendorAnswer]]


@dataclass
class _Open(Generic[Message]):
    message: Message
    waiting: dict[str, list[asyncio.Future[Outcome]]] = field(default_factory=dict)


class Batcher(Generic[Message]):
    def __init__(self, send_batch: SendBatch[Message], max_tokens: int) -> None:
        self._send_batch = send_batch
        self._max_tokens = max_tokens
        self._open: dict[Hashable, _Open[Message]] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    async def send(self, key: Hashable, message: Message, token: str) -> Outcome:
        """`token`'s outcome once its batch (same `key`: the same message) has been answered."""
        batch = self._open.get(key)
        if batch is None:
            batch = self._open[key] = _Open(message)
            asyncio.get_running_loop().call_soon(self._close, key, batch)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        batch.waiting.setdefault(token, []).append(future)
        if len(batch.waiting) >= self._max_tokens:
            self._close(key, batch)
        return await future

    def _close(self, key: Hashable, batch: _Open[Message]) -> None:
        if self._open.get(key) is batch:
            del self._open[key]
            task = asyncio.ensure_future(self._flush(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: _Open[Message]) -> None:
        try:
            answer = await self._send_batch(batch.message, list(batch.waiting))
        except BaseException as error:  # a bug or a cancellation: every caller hears of it
            for futures in batch.waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for token, futures in batch.waiting.items():
            outcome = answer.for_token(token)
            for future in futures:
                if not future.done():
                    future.set_result(outcome)

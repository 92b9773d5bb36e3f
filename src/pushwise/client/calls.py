"""One API v1 call, declared once (method, path, the server's own models) and bound to a client.

`Endpoints` (endpoints.py) lists every call as a `Call` or `Pages` attribute; `Client` and
`AsyncClient` inherit that list, and the descriptor hands each a method of the right colour:
plain for `Client`, a coroutine function for `AsyncClient`. The request and answer types are the
server's Pydantic models, so the client cannot disagree with the server about a field; the drift
test (tests/unit/test_client_drift.py) checks paths, methods and models against the live app.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from pushwise.client.errors import PushwiseError

AnswerT = TypeVar("AnswerT")
ItemT = TypeVar("ItemT")

IDEMPOTENCY_HEADER = "Idempotency-Key"
_PATH_PARAMETER = re.compile(r"{(\w+)}")
_RETRY_SAFE_METHODS = frozenset({"GET", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to send (and to send again, unchanged, on a retry)."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_safe: bool = False


class SyncSession(ABC):
    @abstractmethod
    def _run(self, prepared: Prepared, call: Call[AnswerT]) -> AnswerT: ...

    @abstractmethod
    def _new_key(self) -> str: ...


class AsyncSession(ABC):
    @abstractmethod
    async def _run(self, prepared: Prepared, call: Call[AnswerT]) -> AnswerT: ...

    @abstractmethod
    def _new_key(self) -> str: ...


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def _refused(error: ValidationError) -> PushwiseError:
    """The 422 the server would answer, without the round trip (same code, same field path)."""
    from pushwise.api.errors import field_path

    details = [
        {"field": field_path(item["loc"]), "code": item["type"], "message": item["msg"]}
        for item in error.errors()
    ]
    first = details[0]
    message = f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
    return PushwiseError(422, "validation_error", message, first["field"], details)


class Call(Generic[AnswerT]):
    """`METHOD /path/{param}`: path parameters are positional, everything else is a keyword.

    Keywords named in `query` go to the query string, those in `headers` to the named header,
    `idempotency_key` to `Idempotency-Key` (generated when not given, for calls with
    `idempotent_send`), the rest make the body, validated by the server's own `body` model.
    `body_arg` names the one keyword holding a body that is not an object (a list).
    """

    def __init__(
        self,
        method: str,
        path: str,
        answer: type[AnswerT],
        *,
        body: Any = None,
        body_arg: str | None = None,
        query: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        idempotent_send: bool = False,
        retry_safe: bool | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.path_parameters = tuple(_PATH_PARAMETER.findall(path))
        self.answer: Any = answer
        self.body: Any = body
        self.body_arg = body_arg
        self.query = query
        self.headers = dict(headers or {})
        self.idempotent_send = idempotent_send
        self.retry_safe = (
            retry_safe if retry_safe is not None else method in _RETRY_SAFE_METHODS or idempotent_send
        )
        self.name = f"{method} {path}"
        self._answer: TypeAdapter[Any] | None = None  # None: the answer has no body (204)
        if answer is not type(None):
            self._answer = TypeAdapter(self.answer)
        self._body: TypeAdapter[Any] | None = TypeAdapter(body) if body is not None else None

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Call[AnswerT]: ...
    @overload
    def __get__(self, instance: SyncSession, owner: type[Any]) -> Callable[..., AnswerT]: ...
    @overload
    def __get__(self, instance: AsyncSession, owner: type[Any]) -> Callable[..., Awaitable[AnswerT]]: ...
    def __get__(self, instance: object, owner: type[Any]) -> Any:
        if instance is None:
            return self
        session: SyncSession | AsyncSession = instance  # type: ignore[assignment]

        def call(*args: Any, **kwargs: Any) -> Any:
            return session._run(self.prepare(args, kwargs, session._new_key), self)

        call.__name__ = call.__qualname__ = self.name
        call.__doc__ = f"`{self.method} {self.path}`."
        return call

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], new_key: Callable[[], str]) -> Prepared:
        fields = dict(kwargs)
        path = self._path(args, fields)
        params = {
            name: _query_value(value) for name in self.query if (value := fields.pop(name, None)) is not None
        }
        headers = {
            header: str(value)
            for argument, header in self.headers.items()
            if (value := fields.pop(argument, None)) is not None
        }
        if self.idempotent_send:
            headers[IDEMPOTENCY_HEADER] = fields.pop("idempotency_key", None) or new_key()
        return Prepared(self.method, path, params, self._body_of(fields), headers, self.retry_safe)

    def _path(self, args: tuple[Any, ...], fields: dict[str, Any]) -> str:
        if len(args) > len(self.path_parameters):
            raise TypeError(f"{self.name}() takes {len(self.path_parameters)} positional arguments")
        values = dict(zip(self.path_parameters, args, strict=False))
        for name in self.path_parameters[len(args) :]:
            if name not in fields:
                raise TypeError(f"{self.name}() needs {name}")
            values[name] = fields.pop(name)
        return _PATH_PARAMETER.sub(lambda match: quote(str(values[match[1]]), safe=""), self.path)

    def _body_of(self, fields: dict[str, Any]) -> Any:
        if self._body is None:
            if fields:
                raise TypeError(f"{self.name}() got unexpected arguments: {', '.join(sorted(fields))}")
            return None
        given: Any = fields
        if self.body_arg is not None:
            if set(fields) != {self.body_arg}:
                raise TypeError(f"{self.name}() takes the body as {self.body_arg}=")
            given = fields[self.body_arg]
        try:
            valid = self._body.validate_python(given)
        except ValidationError as error:
            raise _refused(error) from None
        if isinstance(valid, BaseModel):
            return valid.model_dump(mode="json", exclude_unset=True, by_alias=True)
        return self._body.dump_python(valid, mode="json")

    def read(self, response: httpx.Response) -> AnswerT:
        if self._answer is None:
            return None  # type: ignore[return-value]
        return cast(AnswerT, self._answer.validate_json(response.content))


class Pages(Generic[ItemT]):
    """Every item of a listing, page after page (`next_cursor`), as an iterator; the arguments are
    those of the listing call, whose page model has `items` and `next_cursor`."""

    def __init__(self, listing: Call[Any], item: type[ItemT]) -> None:
        self.listing = listing
        self.item = item
        self.name = f"pages of {listing.name}"

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Pages[ItemT]: ...
    @overload
    def __get__(self, instance: SyncSession, owner: type[Any]) -> Callable[..., Iterator[ItemT]]: ...
    @overload
    def __get__(self, instance: AsyncSession, owner: type[Any]) -> Callable[..., AsyncIterator[ItemT]]: ...
    def __get__(self, instance: object, owner: type[Any]) -> Any:
        if instance is None:
            return self
        listing = self.listing
        if isinstance(instance, AsyncSession):
            session = instance

            async def items_async(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
                cursor = kwargs.pop("cursor", None)
                while True:
                    prepared = listing.prepare(args, {**kwargs, "cursor": cursor}, session._new_key)
                    page = await session._run(prepared, listing)
                    for item in page.items:
                        yield item
                    if not (cursor := page.next_cursor):
                        return

            return items_async
        assert isinstance(instance, SyncSession)
        sync_session = instance

        def items(*args: Any, **kwargs: Any) -> Iterator[Any]:
            cursor = kwargs.pop("cursor", None)
            while True:
                page = sync_session._run(
                    listing.prepare(args, {**kwargs, "cursor": cursor}, sync_session._new_key), listing
                )
                yield from page.items
                if not (cursor := page.next_cursor):
                    return

        return items

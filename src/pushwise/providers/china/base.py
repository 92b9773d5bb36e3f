"""What the five vendor adapters share: one request per batch, renewing credentials once.

A subclass renders the notification for its vendor (`_render`: the rendering and a
key that is equal for identical messages) and posts one batch (`_post`). This base
turns a dispatch into its batch's outcome for that token, refreshes the vendor's
token once when the vendor calls it expired, and turns transport failures and failed
token exchanges into outcomes, so `send` never raises for a vendor's failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

import orjson

from pushwise.domain.china.errors import VendorAnswer
from pushwise.domain.china.messages import VendorMessageRejected
from pushwise.domain.china.vendors import CategoryClass, MessageClass, class_for
from pushwise.domain.clock import Clock
from pushwise.domain.outcomes import Outcome, OutcomeKind, local_rejection, transport_failure
from pushwise.providers.base import Dispatch, open_connections
from pushwise.providers.china.batching import Batcher
from pushwise.providers.renderings import PerNotification
from pushwise.providers.token_cache import TokenCache, TokenExchangeFailed
from pushwise.providers.transport import Http2Transport, TransportError, TransportResponse

MAX_TOKENS_PER_REQUEST = 1000
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

Message = TypeVar("Message")
# (vendor, app, category, priority) -> the class a push goes as, from the app's categories.
ClassLookup = Callable[[str, str, str | None, str], Awaitable[MessageClass]]


class VendorProvider(Generic[Message]):
    channel: str

    def __init__(
        self,
        transport: Http2Transport,
        clock: Clock,
        *,
        timeout: float,
        tokens: TokenCache | None = None,
        categories: dict[str, CategoryClass] | None = None,
        classes: ClassLookup | None = None,
        max_tokens: int = MAX_TOKENS_PER_REQUEST,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._timeout = timeout
        self.tokens = tokens
        self._categories = categories or {}
        self._classes = classes
        self._batcher: Batcher[Message] = Batcher(self._send_batch, max_tokens)
        self._rendered: PerNotification[tuple[Hashable, Message]] = PerNotification()

    async def send(self, dispatch: Dispatch) -> Outcome:
        spec = dispatch.spec
        if self._classes is not None:
            klass = await self._classes(self.channel, dispatch.app_id, spec.category, spec.priority)
        else:
            klass = class_for(self.channel, spec.category, spec.priority, self._categories)
        now = self._clock.now()
        try:
            key, message = self._rendered.rendered(
                spec,
                (dispatch.notification_id, dispatch.expires_at, int(now) // 60, _class_key(klass)),
                lambda: self._render(dispatch, klass, now),
            )
        except VendorMessageRejected as rejection:
            return local_rejection(rejection.reason)
        # Keyed by notification too: two notifications with the same words are two pushes.
        return await self._batcher.send((dispatch.notification_id, key), message, dispatch.token)

    def _render(self, dispatch: Dispatch, klass: MessageClass, now: float) -> tuple[Hashable, Message]:
        """The vendor's message for this dispatch (without its token), and its batching key."""
        raise NotImplementedError

    async def _post(self, message: Message, tokens: Sequence[str], credential: str) -> VendorAnswer:
        """One request for `tokens`; may raise `TransportError`."""
        raise NotImplementedError

    async def _send_batch(self, message: Message, tokens: Sequence[str]) -> VendorAnswer:
        try:
            credential = await self.tokens.token() if self.tokens else ""
            answer = await self._post(message, tokens, credential)
            if answer.outcome.kind is OutcomeKind.REFRESH_CREDENTIALS and self.tokens is not None:
                answer = await self._post(message, tokens, await self.tokens.refresh_rejected(credential))
        except TransportError as error:
            return VendorAnswer(transport_failure(error.reason))
        except TokenExchangeFailed as failure:
            return VendorAnswer(self._exchange_outcome(failure))
        if answer.outcome.kind is OutcomeKind.REFRESH_CREDENTIALS:
            # A fresh credential refused too: exchanging again cannot help.
            first = answer.outcome
            answer = VendorAnswer(Outcome(OutcomeKind.CONFIGURATION, first.reason, first.provider_status))
        return answer

    def _exchange_outcome(self, failure: TokenExchangeFailed) -> Outcome:
        if failure.retryable:
            wait = self.tokens.failure_wait() if self.tokens else 0.0
            return Outcome(OutcomeKind.RETRY, failure.reason, None, wait or None)
        return local_rejection(failure.reason, OutcomeKind.CONFIGURATION)

    async def _request(self, url: str, body: bytes, headers: dict[str, str]) -> TransportResponse:
        return await self._transport.request("POST", url, headers=headers, body=body, timeout=self._timeout)

    def connections(self) -> int:
        return open_connections(self._transport)

    async def close(self) -> None:
        await self._transport.close()


def json_object(body: bytes) -> dict[str, Any] | None:
    """The vendors answer JSON objects; anything else (a proxy's page) has nothing to read."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def granted(response: TransportResponse, token_key: str, vendor: str) -> dict[str, Any]:
    """A token endpoint's JSON answer, or why there is no token in it.

    4xx other than 429 means the service refused the grant (a wrong secret or signature).
    """
    body = json_object(response.body) or {}
    token = body.get(token_key)
    if response.status != 200 or not isinstance(token, str) or not token:
        retryable = response.status == 429 or response.status >= 500
        code = body.get("error") or body.get("code") or body.get("result") or f"HTTP{response.status}"
        detail = str(body.get("error_description") or body.get("desc") or body.get("message") or "")
        # An answer of 200 without a token is the vendor refusing in its own words (e.g. OPPO's code).
        raise TokenExchangeFailed(f"{vendor}:{code}", detail or "no token in the answer", retryable=retryable)
    return body


def _class_key(klass: MessageClass) -> bytes:
    """A hashable spelling of a class, so a category changed mid-send renders anew."""
    return orjson.dumps([klass.vendor_class.value, klass.fields], option=orjson.OPT_SORT_KEYS)

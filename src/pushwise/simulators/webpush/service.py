"""The simulated push service (RFC 8030 section 5), independent of the HTTP server carrying it.

It checks what real push services check, in their order: VAPID (401/403), the
subscription (404 unknown, 410 unsubscribed), the headers (400 without a valid
`TTL`, `Content-Encoding: aes128gcm`, `Topic`, `Urgency`), the size (413 over
4096 bytes), then injected faults. An accepted push answers 201 with a
`Location` naming the message. Unlike a real service it can also decrypt what it
accepts (it holds the browsers' keys), which is how tests prove the encryption;
a push it cannot decrypt is still accepted, as a real service would, and
recorded as undecryptable.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from pushwise.domain.webpush_message import URGENCIES, is_valid_topic
from pushwise.providers.vapid import VapidClaims, VapidRejected, check_claims, verify_authorization
from pushwise.providers.webpush_crypto import RECORD_SIZE, WebPushCryptoError, decrypt
from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.webpush.faults import PushFaults
from pushwise.simulators.webpush.recording import PushRecorder, ReceivedPush
from pushwise.simulators.webpush.subscriptions import SimulatedSubscription, SubscriptionBook, subscription_id

_VAPID_CACHE_LIMIT = 4096
_TEXT = ("content-type", "text/plain; charset=utf-8")


class SimulatedPushService:
    def __init__(
        self,
        origin: str,
        *,
        faults: PushFaults,
        seed: int = 0,
        decrypt_messages: bool = True,
        clock: Callable[[], float] = time.time,
        recorder: PushRecorder | None = None,
    ) -> None:
        self.origin = origin
        self.subscriptions = SubscriptionBook(origin)
        self.recorder = recorder or PushRecorder()
        self.faults = faults
        self.decrypt_messages = decrypt_messages
        self._clock = clock
        self._seed = seed
        self.rng = random.Random(seed)
        self._vapid: dict[str, VapidClaims | VapidRejected] = {}

    def set_faults(self, faults: PushFaults) -> None:
        self.faults = faults

    def set_outage(self, on: bool) -> None:
        self.faults = replace(self.faults, outage=on)

    def reset(self) -> None:
        """Forget what was received and restart the random sequence; subscriptions stay, as in browsers."""
        self.recorder.reset()
        self.rng = random.Random(self._seed)

    def answer(
        self, method: str, path: str, headers: RequestHeaders, body: bytes, http_version: str = ""
    ) -> Reply:
        sub_id = subscription_id(path)
        if sub_id is None:
            return self._reject(None, 404, "no such push resource")
        if method != "POST":
            return self._reject(sub_id, 405, "push with POST")
        faults = self.faults
        if faults.outage:
            return self._reject(sub_id, 503, "outage", retry_after=faults.retry_after_seconds)
        subscription = self.subscriptions.get(sub_id)
        status, message = self._problem(subscription, sub_id, headers, body)
        if not status:
            injected = faults.injected_status(self.rng)
            if injected is not None:
                retry_after = faults.retry_after_seconds if injected in (429, 503) else None
                return self._reject(sub_id, injected, "injected fault", retry_after=retry_after)
            assert subscription is not None  # _problem answered 404 otherwise
            return self._accept(subscription, headers, body, http_version)
        return self._reject(sub_id, status, message)

    def _problem(
        self, subscription: SimulatedSubscription | None, sub_id: str, headers: RequestHeaders, body: bytes
    ) -> tuple[int, str]:
        try:
            claims = self._claims(headers.get("authorization"))
            check_claims(claims, origin=self.origin, now=self._clock())
        except VapidRejected as rejected:
            return rejected.status, rejected.message
        if subscription is None:
            return 404, "no such subscription"
        if sub_id in self.faults.gone:
            return 410, "the subscription has expired or was unsubscribed"
        key = subscription.application_server_key
        if key is not None and claims.public_key != key:
            return 403, "the VAPID key is not the one this subscription was created with"
        ttl = headers.get("ttl")
        if ttl is None or not ttl.isdigit():
            return 400, "TTL header is required"
        if body and headers.get("content-encoding") != "aes128gcm":
            return 400, "Content-Encoding must be aes128gcm"
        topic = headers.get("topic")
        if topic is not None and not is_valid_topic(topic):
            return 400, "Topic must be at most 32 characters of the URL-safe base64 alphabet"
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            return 400, "Urgency must be very-low, low, normal or high"
        if len(body) > RECORD_SIZE:
            return 413, "payload exceeds 4096 bytes"
        return 0, ""

    def _claims(self, authorization: str | None) -> VapidClaims:
        """Signature checks cached per distinct header: a sender reuses one for hours."""
        key = authorization or ""
        verdict = self._vapid.get(key)
        if verdict is None:
            if len(self._vapid) >= _VAPID_CACHE_LIMIT:
                self._vapid.clear()
            try:
                verdict = verify_authorization(authorization)
            except VapidRejected as rejected:
                verdict = rejected
            self._vapid[key] = verdict
        if isinstance(verdict, VapidRejected):
            raise verdict
        return verdict

    def _accept(
        self, subscription: SimulatedSubscription, headers: RequestHeaders, body: bytes, http_version: str
    ) -> Reply:
        self.recorder.count(subscription.id, 201)
        if self.decrypt_messages:
            self._keep(subscription, headers, body, http_version)
        message_id = uuid.UUID(int=self.rng.getrandbits(128), version=4)
        reply_headers = [("location", f"{self.origin}/message/{message_id}"), ("ttl", headers.get("ttl"))]
        return Reply(201, reply_headers, b"", self.faults.latency_s(self.rng))

    def _keep(
        self, subscription: SimulatedSubscription, headers: RequestHeaders, body: bytes, http_version: str
    ) -> None:
        plaintext: bytes | None = None
        error = ""
        try:
            plaintext = decrypt(body, subscription.private_key, subscription.auth_secret) if body else b""
        except WebPushCryptoError as failure:
            error = str(failure)
        self.recorder.keep(
            ReceivedPush(
                subscription.id,
                self._clock(),
                201,
                http_version,
                dict(headers.items()),
                len(body),
                plaintext,
                error,
            )
        )

    def _reject(
        self, sub_id: str | None, status: int, message: str, *, retry_after: int | None = None
    ) -> Reply:
        self.recorder.count(sub_id, status)
        reply_headers = [_TEXT]
        if retry_after is not None:
            reply_headers.append(("retry-after", str(retry_after)))
        return Reply(status, reply_headers, message.encode(), self.faults.latency_s(self.rng))

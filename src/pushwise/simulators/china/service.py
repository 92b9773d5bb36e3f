"""What the five simulated vendors share: issued tokens, faults, quotas and recording.

Each vendor's protocol (`huawei_honor.py`, `xiaomi.py`, `oppo_vivo.py`) verifies its
requests and words its answers; this base keeps the state they all need. Every random
decision comes from one seeded `random.Random`, so a seed gives one fault sequence.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from pushwise.domain.china.vendors import vendor_day
from pushwise.simulators.apns.peer import Reply, RequestHeaders
from pushwise.simulators.apns.recording import Recorder
from pushwise.simulators.china.faults import VendorFaults

JSON_HEADER = ("content-type", "application/json;charset=UTF-8")
SIGNED_TIMESTAMP_WINDOW_S = 600.0  # OPPO and vivo refuse auth requests more than 10 minutes off


@dataclass(frozen=True, slots=True)
class VendorAccount:
    """The app's credentials as the vendor issued them (the harness hands them to pushwise)."""

    vendor: str
    credentials: dict[str, str]
    service_channels: tuple[str, ...] = ("service",)  # Xiaomi/OPPO channels registered as service class


class SimulatedVendor:
    vendor: str

    def __init__(
        self,
        account: VendorAccount,
        faults: VendorFaults,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        recorder: Recorder | None = None,
    ) -> None:
        self.account = account
        self.faults = faults
        self.recorder = recorder or Recorder()
        self._clock = clock
        self._seed = seed
        self.rng = random.Random(seed)
        self._issued: dict[str, float] = {}  # token -> expiry
        self.issued = 0
        self.requests = 0  # send requests (one may carry 1,000 tokens)
        self.refused_auth = 0
        self.by_class: Counter[str] = Counter()
        self.dropped_by_quota = 0
        self._marketing: dict[tuple[str, str], int] = {}  # (token, Shanghai day) -> marketing pushes

    # --- control -------------------------------------------------------------

    def set_faults(self, faults: VendorFaults) -> None:
        self.faults = faults

    def set_outage(self, on: bool) -> None:
        self.faults = replace(self.faults, outage=on)

    def reset(self) -> None:
        self.recorder.reset()
        self.rng = random.Random(self._seed)
        self.by_class.clear()
        self.dropped_by_quota = 0
        self.requests = 0
        self.issued = self.refused_auth = 0  # issued tokens stay valid
        self._marketing.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far is refused from now on (renewal tests)."""
        self._issued = dict.fromkeys(self._issued, 0.0)

    def stats(self) -> dict[str, Any]:
        return {
            **self.recorder.stats(),
            "vendor": self.vendor,
            "outage": self.faults.outage,
            "requests": self.requests,
            "auth": {"issued": self.issued, "refused": self.refused_auth},
            "by_class": dict(self.by_class),
            "dropped_by_quota": self.dropped_by_quota,
        }

    # --- shared rules ---------------------------------------------------------

    def answer(self, method: str, path: str, headers: RequestHeaders, body: bytes) -> Reply:
        raise NotImplementedError

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self._issued[token] = self._clock() + self.faults.token_lifetime_s
        self.issued += 1
        return token

    def token_valid(self, token: str | None) -> bool:
        return token is not None and self._issued.get(token, 0.0) > self._clock()

    def timestamp_fresh(self, raw: object) -> bool:
        try:
            stamp = int(str(raw)) / 1000.0
        except ValueError:
            return False
        return not self.faults.check_timestamps or abs(stamp - self._clock()) <= SIGNED_TIMESTAMP_WINDOW_S

    def over_quota(self, token: str, marketing: bool) -> bool:
        """Counts one push of the class for `token`; True when it is past the daily marketing cap."""
        self.by_class["marketing" if marketing else "service"] += 1
        cap = self.faults.marketing_per_device_day
        if not marketing or cap is None:
            return False
        key = (token, vendor_day(self._clock()))
        sent = self._marketing.get(key, 0)
        if sent >= cap:
            return True
        self._marketing[key] = sent + 1
        return False

    def record(
        self, tokens: list[str], headers: RequestHeaders, body: bytes, status: int, reason: str
    ) -> None:
        at, kept = self._clock(), dict(headers.items())
        for token in tokens or [""]:
            self.recorder.record(token or None, kept, body, status, reason, at)

    def begin_send(self) -> float:
        """Counts one send request; returns the latency to answer it with."""
        self.requests += 1
        return self.faults.latency_s(self.rng)


def json_reply(status: int, data: Any, delay: float = 0.0) -> Reply:
    return Reply(status, [JSON_HEADER], orjson.dumps(data), delay)


def bearer(headers: RequestHeaders) -> str | None:
    value = headers.get("authorization")
    return value[len("Bearer ") :] if isinstance(value, str) and value.startswith("Bearer ") else None

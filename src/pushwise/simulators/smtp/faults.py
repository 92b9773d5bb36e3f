"""Fault injection for the SMTP sink, parsed from the dict tests and users hand in.

    {"codes": {"421": 0.01, "450": 0.02, "550": 0.01, "554": 0.01},
     "auth_failure": 0.1, "dead_mailboxes": ["gone@example.com"]}

Each code has the place a real server uses it: 450/452/550/551/553 answer RCPT
(mailbox busy, full, unknown), 421/451/552/554 answer DATA (closing, local
error, too big, rejected). One draw per message from the seeded random source
picks the code, so the same seed and message order repeat the same faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pushwise.simulators.apns.faults import FaultConfigError

RCPT_CODES = frozenset({450, 452, 550, 551, 553})
DATA_CODES = frozenset({421, 451, 552, 554})
REPLY_TEXT = {
    421: "4.3.2 Service shutting down, closing channel",
    450: "4.2.1 Mailbox busy, try again later",
    451: "4.3.0 Local error in processing",
    452: "4.2.2 Mailbox full",
    550: "5.1.1 Mailbox unavailable",
    551: "5.1.6 User not local",
    552: "5.3.4 Message too big",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.7.1 Message rejected",
}
_KNOWN = frozenset({"codes", "auth_failure", "dead_mailboxes"})

__all__ = ["DATA_CODES", "RCPT_CODES", "REPLY_TEXT", "FaultConfigError", "SmtpFaults", "parse_faults"]


@dataclass(frozen=True, slots=True)
class SmtpFaults:
    codes: tuple[tuple[int, float], ...] = ()
    auth_failure: float = 0.0
    dead_mailboxes: frozenset[str] = frozenset()

    def injected_code(self, rng: random.Random) -> int | None:
        if not self.codes:
            return None
        draw = rng.random()
        for code, probability in self.codes:
            draw -= probability
            if draw < 0:
                return code
        return None

    def auth_fails(self, rng: random.Random) -> bool:
        return self.auth_failure > 0 and rng.random() < self.auth_failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "codes": {str(code): p for code, p in self.codes},
            "auth_failure": self.auth_failure,
            "dead_mailboxes": sorted(self.dead_mailboxes),
        }


def parse_faults(raw: dict[str, Any] | None) -> SmtpFaults:
    """Validate a fault dict; unknown keys are errors, so a typo cannot silently disable a fault."""
    raw = dict(raw or {})
    unknown = set(raw) - _KNOWN
    if unknown:
        raise FaultConfigError(f"unknown fault settings: {sorted(unknown)}")
    codes = tuple(sorted((int(c), float(p)) for c, p in (raw.get("codes") or {}).items() if float(p) > 0))
    bad = sorted(code for code, _ in codes if code not in RCPT_CODES | DATA_CODES)
    if bad:
        raise FaultConfigError(f"cannot inject codes {bad}; choose from {sorted(RCPT_CODES | DATA_CODES)}")
    if sum(p for _, p in codes) > 1.0 + 1e-9:
        raise FaultConfigError("code probabilities add up to more than 1")
    auth_failure = float(raw.get("auth_failure") or 0.0)
    if not 0.0 <= auth_failure <= 1.0:
        raise FaultConfigError("auth_failure must be a probability")
    dead = frozenset(str(address).lower() for address in raw.get("dead_mailboxes") or ())
    return SmtpFaults(codes, auth_failure, dead)

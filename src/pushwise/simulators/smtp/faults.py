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

from pushwise.simulators.faults import FaultConfigError, check_total, draw, probabilities, reject_unknown

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
        return draw(self.codes, rng)

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
    reject_unknown(raw, _KNOWN)
    table = probabilities(raw.get("codes"), int)
    bad = sorted(code for code in table if code not in RCPT_CODES | DATA_CODES)
    if bad:
        raise FaultConfigError(f"cannot inject codes {bad}; choose from {sorted(RCPT_CODES | DATA_CODES)}")
    check_total(table, "code")
    auth_failure = float(raw.get("auth_failure") or 0.0)
    if not 0.0 <= auth_failure <= 1.0:
        raise FaultConfigError("auth_failure must be a probability")
    dead = frozenset(str(address).lower() for address in raw.get("dead_mailboxes") or ())
    return SmtpFaults(tuple(sorted(table.items())), auth_failure, dead)

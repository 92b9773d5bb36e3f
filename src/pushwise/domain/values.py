"""Value objects made per delivery: frozen to the type checker, plain slotted classes at run time.

A frozen dataclass sets each field through `object.__setattr__` in its `__init__`, which
costs about ten times a plain slot assignment (0.3-0.6 µs a field on the reference machine).
The engine makes half a dozen such objects per delivery (the claimed row, its dispatch,
outcome, progress and update, what was recorded), about sixty fields, so at thousands of
deliveries a second that alone was a noticeable share of a core. `frozen_value` keeps what
frozen gives the code (mypy refuses an assignment, equality and hashing by value,
`dataclasses.replace`) without the run-time guard on assignment, which nothing relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, dataclass_transform

Value = TypeVar("Value")


@dataclass_transform(frozen_default=True)
def frozen_value(cls: type[Value]) -> type[Value]:
    """`@dataclass(frozen=True, slots=True)` for the type checker; slots, eq and hash at run time."""
    return dataclass(slots=True, unsafe_hash=True)(cls)

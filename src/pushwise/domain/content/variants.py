"""Which variant a user gets: a fixed A/B/n split, a holdout, or a bandit that learns.

`ab`: each user's arm is a hash of (experiment, user), so a user keeps their arm for
the whole experiment, every process agrees without talking, and the split is as even
as a fair die's. The holdout is the same hash's first `holdout_percent` percent.

`learn`: Thompson sampling on the goal (opened, clicked or converted): each variant's
success rate is drawn from Beta(1 + successes, 1 + failures) and the best draw wins,
so variants that do well are sent more while the others keep being tried in
proportion to the chance that they are best. With a recovery penalty after
Duolingo's recovering bandits (Yancey and Settles, "A Sleeping, Recovering Bandit
Algorithm for Optimizing Recurring Notifications", KDD 2020): a variant the user saw
recently is worth less to them (the novelty wore off), by `penalty` right after, half
that after `recovery_half_life`, and so on, so the same user is not sent the same
winner day after day. Draws come from the injected random source: seeded, a run is
repeatable.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pushwise.domain.audience.decay import decay_factor

HOLDOUT = "holdout"
DEFAULT_PENALTY = 0.5
DEFAULT_RECOVERY_HALF_LIFE = 7 * 86_400.0


def bucket(experiment: str, user: str) -> float:
    """A user's stable place in [0, 1) within one experiment."""
    digest = hashlib.sha256(f"{experiment}\x00{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(experiment: str, user: str, holdout_percent: float) -> bool:
    return holdout_percent > 0 and bucket(experiment, user) * 100 < holdout_percent


def split_arm(experiment: str, user: str, arms: Sequence[str], holdout_percent: float = 0.0) -> str:
    """The user's arm under a fixed split: `holdout`, or one of `arms` in equal shares."""
    place = bucket(experiment, user)
    share = holdout_percent / 100
    if place < share:
        return HOLDOUT
    return arms[min(len(arms) - 1, int((place - share) / (1 - share) * len(arms)))]


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Results so far of one variant: pushes delivered and how many reached the goal."""

    trials: int
    successes: int

    @property
    def failures(self) -> int:
        return max(0, self.trials - self.successes)


@dataclass(frozen=True, slots=True)
class Recovery:
    penalty: float = DEFAULT_PENALTY
    half_life: float = DEFAULT_RECOVERY_HALF_LIFE

    def factor(self, seen_at: float | None, now: float) -> float:
        """What a variant is still worth to a user who last got it at `seen_at` (1: never, or long ago)."""
        if seen_at is None or self.penalty <= 0:
            return 1.0
        return 1.0 - self.penalty * decay_factor(now - seen_at, self.half_life)


def thompson_arm(
    arms: Sequence[str],
    stats: Mapping[str, ArmStats],
    last_seen: Mapping[str, float],
    now: float,
    rng: random.Random,
    recovery: Recovery = Recovery(),
) -> str:
    """One Thompson draw per arm (in `arms` order, so a seeded run repeats), scaled by recovery."""
    best, best_value = arms[0], -1.0
    for arm in arms:
        found = stats.get(arm, ArmStats(0, 0))
        draw = rng.betavariate(1 + found.successes, 1 + found.failures)
        value = draw * recovery.factor(last_seen.get(arm), now)
        if value > best_value:
            best, best_value = arm, value
    return best

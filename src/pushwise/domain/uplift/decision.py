"""The decision: which arm a user gets, if any, at a cost per send.

The learner predicts, for each treatment arm, the expected gain over the control in
the goal's units. Those predictions are noisy, and noisier the thinner the data, so
they are shrunk toward the arm's average effect before they decide anything:

    shrunk(a, x) = average(a) + factor(a) * (predicted(a, x) - centre(a))

`average(a)` is the arm's effect measured on the randomised data, `centre(a)` the mean
of its predictions, and `factor(a)` in [0, 1] how much of the predicted spread held up
out of sample (the calibration slope of cross-fitted predictions against the arm's
inverse-propensity pseudo-outcomes). A model that ranks nothing gets factor 0, and
every user gets the arm's average: the fixed policy.

A user is sent the arm with the largest shrunk gain, and only when that gain is more
than the cost per send (otherwise not sending, the control, is worth more). Where
validation showed that personalising does not beat the best fixed policy (one arm to
everybody, or nobody), the rule is that fixed policy for every user (`fixed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pushwise.domain.uplift.policy import ALL_PREFIX, NONE


@dataclass(frozen=True, slots=True)
class Shrinkage:
    average: float
    centre: float
    factor: float

    def apply(self, predicted: float) -> float:
        return self.average + self.factor * (predicted - self.centre)


@dataclass(frozen=True, slots=True)
class Decision:
    best_arm: str  # the treatment arm with the largest shrunk gain
    uplift: Mapping[str, float]  # arm -> shrunk expected gain over the control
    send: bool


def shrunk(predicted: Mapping[str, float], shrinkage: Mapping[str, Shrinkage]) -> dict[str, float]:
    return {arm: shrinkage[arm].apply(gain) for arm, gain in predicted.items()}


def personalised(uplift: Mapping[str, float], cost: float) -> Decision:
    """Send the best arm where its gain beats the cost (ties go to the arm listed first)."""
    if not uplift:
        raise ValueError("a model has at least one treatment arm")
    best = max(uplift, key=lambda arm: uplift[arm])
    return Decision(best, dict(uplift), uplift[best] > cost)


def fixed(uplift: Mapping[str, float], policy: str) -> Decision:
    """The same answer for everyone: `none` sends nothing, `all:<arm>` sends that arm."""
    if policy == NONE:
        best = max(uplift, key=lambda arm: uplift[arm])
        return Decision(best, dict(uplift), False)
    if not policy.startswith(ALL_PREFIX) or policy[len(ALL_PREFIX) :] not in uplift:
        raise ValueError(f"not a fixed policy of this model: {policy!r}")
    return Decision(policy[len(ALL_PREFIX) :], dict(uplift), True)


def decide(
    predicted: Mapping[str, float],
    shrinkage: Mapping[str, Shrinkage],
    cost: float,
    fallback: str | None,
) -> Decision:
    """One user's decision; `fallback` is the fixed policy to follow, or None to personalise."""
    uplift = shrunk(predicted, shrinkage)
    return personalised(uplift, cost) if fallback is None else fixed(uplift, fallback)


def chosen_arm(decision: Decision, control: str) -> str:
    """The arm the decision gives the user: the control when it sends nothing."""
    return decision.best_arm if decision.send else control

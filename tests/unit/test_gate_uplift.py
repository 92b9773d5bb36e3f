"""Properties of targeting by uplift in the pure gate (`domain/gate/uplift.py`).

Whatever the model answers: transactional messages are never decided by it; a user it would
not send to is suppressed with reason `uplift` (the scores in the detail) unless chance put
them in the randomised slice; a user it sends to passes; the holdout comes first; and only
the randomised users (holdout and the slice sent without the model) are recorded as the
send's experiment, in about equal numbers.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.gate import (
    GateDelivery,
    GateNotice,
    GatePolicy,
    HoldOut,
    Send,
    Suppress,
    Targeting,
    UserState,
    decide,
    explain,
)
from pushwise.domain.gate.batch import BatchState, screen_batch
from pushwise.domain.gate.uplift import REASON, explores, needs_model, randomised
from pushwise.domain.uplift.decision import Decision

NOW = 1_800_000_000.0
POLICY = GatePolicy()

gains = st.dictionaries(
    st.sampled_from(["mens", "womens", "promo"]),
    st.floats(-1, 1, allow_nan=False),
    min_size=1,
    max_size=3,
)


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    uplift = draw(gains)
    return Decision(max(uplift, key=lambda arm: uplift[arm]), uplift, draw(st.booleans()))


def delivery(
    user: str,
    decision: Decision | None,
    *,
    transactional: bool = False,
    holdout: float = 5.0,
    notification: str = "ntf_1",
    model: str | None = "upm_1",
) -> GateDelivery:
    notice = GateNotice(
        id=notification,
        created_at=NOW,
        priority="transactional" if transactional else "normal",
        holdout_percent=holdout,
        uplift_model=model,
    )
    targeting = Targeting(model, 0.06, decision) if model is not None else None
    return GateDelivery(
        "inbox", None, transactional, id=1, notice=notice, app_id="app", user_id=user, targeting=targeting
    )


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.text(min_size=1, max_size=12), decisions(), st.floats(0, 50))
def test_transactional_messages_never_meet_the_model(user: str, decision: Decision, holdout: float) -> None:
    found = delivery(user, decision, transactional=True, holdout=holdout)
    assert not needs_model(found)
    assert decide(found, UserState(), POLICY, NOW) != Suppress(REASON)


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.text(min_size=1, max_size=12), decisions(), st.floats(0, 50))
def test_the_model_decides_everyone_outside_the_randomised_slice(
    user: str, decision: Decision, holdout: float
) -> None:
    found = delivery(user, decision, holdout=holdout)
    decided = decide(found, UserState(), POLICY, NOW)
    if randomised(found):
        assert not needs_model(found)
        assert isinstance(decided, HoldOut | Send)
    elif decision.send:
        assert isinstance(decided, Send)
    else:
        assert decided == Suppress(REASON)
        _decision, steps = explain(found, UserState(), POLICY, NOW)
        [step] = [s for s in steps if s.check == "uplift"]
        assert step.result == "suppress"
        assert all(arm in step.detail for arm in decision.uplift)


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.text(min_size=1, max_size=12), st.floats(0, 50))
def test_a_model_that_could_not_score_sends_as_without_targeting(user: str, holdout: float) -> None:
    found = delivery(user, None, holdout=holdout)
    assert isinstance(decide(found, UserState(), POLICY, NOW), HoldOut | Send)


@settings(deadline=None)  # the machine is shared: no timing in tests
@given(st.text(min_size=1, max_size=12), decisions())
def test_without_a_model_nothing_changes(user: str, decision: Decision) -> None:
    plain = delivery(user, decision, model=None, holdout=0.0)
    assert isinstance(decide(plain, UserState(), POLICY, NOW), Send)


@settings(max_examples=20, deadline=None)
@given(st.floats(1, 30), decisions())
def test_only_randomised_users_are_recorded_in_about_equal_arms(holdout: float, decision: Decision) -> None:
    users = [f"user-{n}" for n in range(2000)]
    batch = [
        GateDelivery(
            "inbox",
            None,
            False,
            id=n + 1,
            notice=delivery(u, decision, holdout=holdout).notice,
            app_id="app",
            user_id=u,
            targeting=Targeting("upm_1", None, decision),
        )
        for n, u in enumerate(users)
    ]
    effects = screen_batch(batch, BatchState(), NOW)
    [recorded] = effects.assignments.values()
    explored = {u for u in users if explores("ntf_1", u, holdout)}
    held = {u for u, arm in recorded.items() if arm == "holdout"}
    assert {u for u, arm in recorded.items() if arm == "sent"} == explored
    assert not held & explored
    expected = len(users) * holdout / 100
    assert abs(len(held) - expected) < 5 * expected**0.5 + 5
    assert abs(len(explored) - expected) < 5 * expected**0.5 + 5
    for one in batch:
        decided = effects.decisions[one.id]
        if one.user_id in held:
            assert isinstance(decided, HoldOut)
        elif one.user_id in explored or decision.send:
            assert isinstance(decided, Send)
        else:
            assert decided == Suppress(REASON)

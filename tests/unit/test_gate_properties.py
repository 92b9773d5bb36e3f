"""Properties of the pure gate over any sequence of decisions (issue 11's list).

A small simulation replays the engine's loop on a simulated clock: deliveries come due,
`screen_batch` decides each against the state the earlier ones left, a deferred one comes
back at its time, a sent one enters the ledger. Whatever the policy and traffic, no cap is
ever exceeded, nothing deferred is lost or deferred past its expiry, and transactional
messages are never capped.
"""

from __future__ import annotations

import heapq
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.gate import (
    Defer,
    GateDelivery,
    GateNotice,
    GatePolicy,
    Send,
    Suppress,
    UserState,
    decide,
)
from pushwise.domain.gate.batch import BatchState, screen_batch
from pushwise.domain.gate.policy import Cap, FatigueModel

START = 1_800_000_000.0
CATEGORIES = ("promotions", "news", None)
CHANNELS = ("apns", "fcm", "inbox")

caps = st.builds(
    Cap,
    window_seconds=st.sampled_from([600, 3600, 86_400]),
    max=st.integers(1, 4),
    category=st.sampled_from(CATEGORIES),
    channel=st.sampled_from((None, "apns")),
)
policies = st.builds(
    GatePolicy,
    caps=st.lists(caps, min_size=1, max_size=3).map(tuple),
    cap_scope=st.sampled_from(("user", "channel")),
    min_gap_seconds=st.sampled_from((0, 0, 120, 900)),
    duplicate_window_seconds=st.sampled_from((0, 3600)),
    fatigue=st.none() | st.just(FatigueModel()),
)


@st.composite
def traffic(draw: st.DrawFn) -> list[tuple[float, GateDelivery]]:
    """Notifications to one user, each on one or two channels, arriving over a few hours."""
    sent: list[tuple[float, GateDelivery]] = []
    at = START
    delivery_id = 0
    for number in range(draw(st.integers(1, 14))):
        at += draw(st.sampled_from((0.0, 5.0, 60.0, 700.0, 4000.0)))
        transactional = draw(st.booleans()) and draw(st.booleans())
        notice = GateNotice(
            id=f"n{number}",
            created_at=at,
            expires_at=at + draw(st.sampled_from((900.0, 7200.0, 172_800.0))),
            priority="transactional" if transactional else "normal",
            content_key=draw(st.sampled_from(("same", f"words{number}"))),
            on_cap=draw(st.sampled_from(("defer", "defer", "suppress"))),
        )
        category = draw(st.sampled_from(CATEGORIES))
        for channel in draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True)):
            delivery_id += 1
            sent.append(
                (
                    at,
                    GateDelivery(
                        channel,
                        category,
                        transactional,
                        id=delivery_id,
                        notice=notice,
                        app_id="app",
                        user_id="ann",
                        device_id=f"device-{channel}" if channel != "inbox" else None,
                    ),
                )
            )
    return sent


def _run(policy: GatePolicy, arrivals: list[tuple[float, GateDelivery]]):
    """Replay deliveries until every one is sent or suppressed; returns (sent, suppressed, deferrals)."""
    queue = [(at, delivery.id, delivery) for at, delivery in arrivals]
    heapq.heapify(queue)
    user = UserState()
    sent: list[tuple[float, GateDelivery]] = []
    suppressed: list[GateDelivery] = []
    deferrals: list[tuple[GateDelivery, Defer]] = []
    for _ in range(10_000):
        if not queue:
            break
        now, _id, delivery = heapq.heappop(queue)
        effects = screen_batch([delivery], BatchState({"ann": user}, {"app": policy}), now)
        decision = effects.decisions[delivery.id]
        if isinstance(decision, Send):
            sent.append((now, delivery))
            for _app, _subject, push in effects.sends:
                user = replace(user, sent=(*user.sent, push))
        elif isinstance(decision, Defer):
            assert decision.until > now
            deferrals.append((delivery, decision))
            heapq.heappush(queue, (decision.until, delivery.id, delivery))
        else:
            assert isinstance(decision, Suppress)
            suppressed.append(delivery)
    assert not queue, "the simulation did not settle"
    return sent, suppressed, deferrals


def _counted(cap: Cap, delivery: GateDelivery, policy: GatePolicy, channel: str) -> bool:
    return (
        not delivery.transactional
        and (cap.category is None or delivery.category == cap.category)
        and (cap.channel is None or delivery.channel == cap.channel)
        and (policy.cap_scope != "channel" or delivery.channel == channel)
    )


@settings(max_examples=150, deadline=None)
@given(policies, traffic())
def test_no_decision_sequence_ever_exceeds_a_cap(policy: GatePolicy, arrivals) -> None:
    sent, _suppressed, _deferrals = _run(policy, arrivals)
    for cap in policy.caps:
        for channel in CHANNELS:
            # A notification counts once, from its first push (its other channel rides along).
            firsts: dict[str, float] = {}
            for at, delivery in sent:
                if _counted(cap, delivery, policy, channel):
                    firsts.setdefault(delivery.notice.id, at)
            times = sorted(firsts.values())
            for index, at in enumerate(times):
                in_window = [t for t in times[: index + 1] if t > at - cap.window_seconds]
                assert len(in_window) <= cap.max, (cap, times)


@settings(max_examples=150, deadline=None)
@given(policies, traffic())
def test_a_deferred_delivery_is_never_lost_nor_deferred_past_its_expiry(policy: GatePolicy, arrivals) -> None:
    sent, suppressed, deferrals = _run(policy, arrivals)
    assert {d.id for _at, d in sent} | {d.id for d in suppressed} == {d.id for _at, d in arrivals}
    assert not {d.id for _at, d in sent} & {d.id for d in suppressed}
    for delivery, deferral in deferrals:
        assert delivery.notice.expires_at is not None
        assert deferral.until < delivery.notice.expires_at


@settings(max_examples=300, deadline=None)
@given(policies, traffic(), st.floats(0, 86_400))
def test_a_transactional_push_is_never_capped(policy: GatePolicy, arrivals, later: float) -> None:
    sent, _suppressed, _deferrals = _run(policy, arrivals)
    user = UserState(sent=tuple(push for push in _ledger(policy, sent)))
    for _at, delivery in arrivals:
        transactional = replace(
            delivery, transactional=True, notice=replace(delivery.notice, priority="transactional", id="t")
        )
        decision = decide(transactional, user, policy, START + later)
        assert decision == Send() or not decision.reason.startswith(
            ("cap:", "min_gap", "fatigue", "duplicate")
        )


def _ledger(policy: GatePolicy, sent):
    for at, delivery in sent:
        effects = screen_batch([delivery], BatchState({}, {"app": policy}), at)
        for _app, _subject, push in effects.sends:
            yield push

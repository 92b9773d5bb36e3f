"""Each of the gate's checks on its own: caps, gap, duplicates, fatigue, send time, digests,
holdouts, pacing, the phone makers' quotas, and `explain` agreeing with `decide`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.audience.preferences import Category
from pushwise.domain.gate import (
    Defer,
    GateDelivery,
    GateNotice,
    GatePolicy,
    HoldOut,
    Merge,
    OpenDigest,
    Send,
    SentPush,
    Suppress,
    UserState,
    decide,
    explain,
)
from pushwise.domain.gate.batch import BatchState, explain_delivery, screen_batch
from pushwise.domain.gate.fatigue import budget_of, fatigue_level
from pushwise.domain.gate.holdout import HOLDOUT_ARM, arm_of
from pushwise.domain.gate.pace import take_slot
from pushwise.domain.gate.policy import Cap, DigestRule, FatigueModel, QuietWindow
from pushwise.domain.gate.send_time import hour_of_week

NOW = 1_800_000_000.0
HOUR = 3600.0


def delivery(
    notification: str = "n",
    *,
    category: str | None = None,
    channel: str = "apns",
    transactional: bool = False,
    delivery_id: int = 1,
    **notice: object,
) -> GateDelivery:
    fields: dict[str, object] = {
        "id": notification,
        "created_at": NOW,
        "expires_at": NOW + 7 * 86_400,
    } | notice
    return GateDelivery(
        channel,
        category,
        transactional,
        id=delivery_id,
        notice=GateNotice(**fields),  # type: ignore[arg-type]
        app_id="app",
        user_id="ann",
        device_id=f"d-{channel}",
    )


def pushed(notification: str, at: float, **fields: object) -> SentPush:
    return SentPush(0, notification, at, str(fields.pop("channel", "apns")), **fields)  # type: ignore[arg-type]


def test_over_a_cap_waits_for_room_or_is_dropped_when_asked() -> None:
    policy = GatePolicy(caps=(Cap(86_400, 2),))
    user = UserState(sent=(pushed("a", NOW - 20 * HOUR), pushed("b", NOW - 2 * HOUR)))
    assert decide(delivery(), user, policy, NOW) == Defer(NOW + 4 * HOUR, "cap:86400")
    assert decide(delivery(on_cap="suppress"), user, policy, NOW) == Suppress("cap:86400")
    assert decide(delivery(), user, policy, NOW + 4 * HOUR) == Send()


def test_a_notification_counts_once_however_many_devices_it_reaches() -> None:
    policy = GatePolicy(caps=(Cap(86_400, 1),), min_gap_seconds=600, fatigue=FatigueModel(budget=1.0))
    user = UserState(sent=(pushed("n", NOW - 10),))
    assert decide(delivery("n", channel="fcm"), user, policy, NOW) == Send()
    assert isinstance(decide(delivery("m", channel="fcm"), user, policy, NOW), Defer)


def test_category_channel_and_campaign_caps_count_only_their_own() -> None:
    policy = GatePolicy(
        caps=(Cap(3600, 1, category="deals"), Cap(3600, 1, channel="email", per_campaign=True))
    )
    user = UserState(
        sent=(pushed("a", NOW - 60, category="deals"), pushed("b", NOW - 60, channel="email", campaign="c1"))
    )
    assert decide(delivery(category="deals"), user, policy, NOW).reason == "cap:3600:deals"  # type: ignore[union-attr]
    assert decide(delivery(category="news"), user, policy, NOW) == Send()
    assert (
        decide(delivery(channel="email", campaign="c1"), user, policy, NOW).reason
        == "cap:3600/email/campaign"
    )  # type: ignore[union-attr]
    assert decide(delivery(channel="email", campaign="c2"), user, policy, NOW) == Send()


def test_caps_per_channel_count_each_channel_apart() -> None:
    user = UserState(sent=(pushed("a", NOW - 60, channel="fcm"),))
    assert isinstance(decide(delivery(), user, GatePolicy(caps=(Cap(3600, 1),)), NOW), Defer)
    assert decide(delivery(), user, GatePolicy(caps=(Cap(3600, 1),), cap_scope="channel"), NOW) == Send()


def test_the_minimum_gap_and_duplicates() -> None:
    user = UserState(sent=(pushed("a", NOW - 100, content_key="k", collapse_key="c"),))
    assert decide(delivery(), user, GatePolicy(min_gap_seconds=300), NOW) == Defer(NOW + 200, "min_gap")
    duplicates = GatePolicy(duplicate_window_seconds=3600)
    assert decide(delivery(content_key="k"), user, duplicates, NOW) == Suppress("duplicate")
    assert decide(delivery(collapse_key="c"), user, duplicates, NOW) == Suppress("duplicate")
    assert decide(delivery(content_key="other"), user, duplicates, NOW) == Send()
    assert decide(delivery(content_key="k"), user, duplicates, NOW + 3600) == Send()


def test_fatigue_users_who_engage_keep_their_budget_users_who_ignore_get_fewer() -> None:
    model = FatigueModel()
    policy = GatePolicy(fatigue=model)
    history = tuple(pushed(f"p{i}", NOW - i * 20 * HOUR, category="deals") for i in range(1, 4))
    reader = UserState(sent=history, engaged=frozenset({"p1"}), open_propensity=0.3)
    ignorer = UserState(sent=history, open_propensity=0.05)
    assert fatigue_level(ignorer, model, NOW) > fatigue_level(
        reader, model, NOW
    )  # ignored deals weigh double
    assert budget_of(reader, model, NOW) == model.budget
    assert budget_of(ignorer, model, NOW) < model.budget
    assert decide(delivery(category="deals"), reader, policy, NOW) == Send()
    waiting = decide(delivery(category="deals"), ignorer, policy, NOW)
    assert isinstance(waiting, Defer)
    assert waiting.reason == "fatigue"
    assert decide(delivery(category="deals"), ignorer, policy, waiting.until) == Send()


def test_too_many_shrinks_the_budget_at_once_and_not_interested_marks_a_category_ignored() -> None:
    model = FatigueModel()
    fresh = UserState()
    complained = UserState(too_many=(NOW,))
    assert budget_of(complained, model, NOW) == budget_of(fresh, model, NOW) * model.too_many_factor
    refused = UserState(
        sent=(pushed("a", NOW - HOUR, category="deals"),), not_interested=frozenset({"deals"})
    )
    assert fatigue_level(refused, model, NOW) > fatigue_level(
        replace(refused, not_interested=frozenset()), model, NOW
    )


def _at(text: str, zone: str = "Europe/Berlin") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_send_time_picks_the_users_learned_hour_and_the_populations_for_a_new_user() -> None:
    monday_8 = _at("2026-06-15T08:00")
    evening = hour_of_week(datetime.fromisoformat("2026-06-15T19:00"))
    noon = hour_of_week(datetime.fromisoformat("2026-06-15T12:00"))
    policy = GatePolicy(population_hours={noon: 50.0, evening: 5.0})
    optimised = delivery(optimize_within=24 * HOUR, created_at=monday_8)
    habitual = UserState(timezone="Europe/Berlin", send_hours={evening: 30.0})
    learned = decide(optimised, habitual, policy, monday_8)
    assert isinstance(learned, Defer)
    assert learned.reason == "send_time"
    assert datetime.fromtimestamp(learned.until, ZoneInfo("Europe/Berlin")).hour == 19
    new = decide(optimised, UserState(timezone="Europe/Berlin"), policy, monday_8)
    assert isinstance(new, Defer)
    assert datetime.fromtimestamp(new.until, ZoneInfo("Europe/Berlin")).hour == 12
    assert decide(optimised, habitual, policy, learned.until) == Send()  # back in its hour: it goes
    quiet = replace(policy, quiet_hours=QuietWindow("18:00", "22:00"))
    avoided = decide(optimised, habitual, quiet, monday_8)
    assert isinstance(avoided, Defer)
    assert datetime.fromtimestamp(avoided.until, ZoneInfo("Europe/Berlin")).hour == 12
    assert decide(optimised, UserState(), GatePolicy(), monday_8) == Send()  # no history anywhere: now


def test_digests_open_a_window_then_gather_into_a_carrier() -> None:
    policy = GatePolicy(digest=DigestRule(window_seconds=3600))
    first, second, third = (delivery(f"n{i}", delivery_id=i, priority="low") for i in (1, 2, 3))
    effects = screen_batch([first], BatchState({}, {"app": policy}), NOW)
    assert effects.decisions[1] == Send()
    [window] = effects.digests.values()
    state = UserState(digests={window.key: OpenDigest(window.carrier, window.key, window.closes_at)})
    effects = screen_batch([second, third], BatchState({"ann": state}, {"app": policy}), NOW + 60)
    assert effects.decisions[2] == Defer(NOW + 3600, "digest")
    assert effects.decisions[3] == Merge(2)
    assert [part.delivery_id for part in effects.parts] == [3]
    carried = UserState(digests={window.key: OpenDigest(2, window.key, NOW + 3600, parts=1)})
    assert decide(second, carried, policy, NOW + 3600) == Send()
    assert decide(delivery("t", transactional=True), carried, policy, NOW) == Send()
    assert (
        decide(
            delivery("h", priority="normal"),
            carried,
            replace(policy, digest=DigestRule(max_priority="low")),
            NOW,
        )
        == Send()
    )


def test_a_holdout_is_the_same_users_every_time_and_about_the_share_asked() -> None:
    held = [arm_of("n1", f"user{i}", 10.0) for i in range(5000)]
    assert 400 < held.count(HOLDOUT_ARM) < 600
    assert held == [arm_of("n1", f"user{i}", 10.0) for i in range(5000)]
    everyone = delivery(holdout_percent=100.0)
    assert decide(everyone, UserState(), GatePolicy(), NOW) == HoldOut()
    effects = screen_batch([everyone], BatchState({}, {"app": GatePolicy()}), NOW)
    assert effects.assignments == {("app", "notification", "n"): {"ann": HOLDOUT_ARM}}


def test_pacing_takes_slots_and_a_deferred_delivery_keeps_its_own() -> None:
    assert take_slot(None, 60, NOW).at == NOW
    assert take_slot(NOW + 5, 60, NOW).next_free == NOW + 6
    paced = [delivery(delivery_id=i, rate_per_minute=120.0) for i in range(1, 5)]
    effects = screen_batch(paced, BatchState({}, {"app": GatePolicy()}), NOW)
    assert [effects.decisions[i] for i in range(1, 5)] == [
        Send(),
        Defer(NOW + 0.5, "rate:notification"),
        Defer(NOW + 1.0, "rate:notification"),
        Defer(NOW + 1.5, "rate:notification"),
    ]
    back = replace(paced[1], last_reason="rate:notification")
    later = screen_batch([back], BatchState({}, {"app": GatePolicy()}, effects.paces), NOW + 0.5)
    assert later.decisions[2] == Send()
    assert not later.paces


def test_a_phone_makers_daily_quota_holds_marketing_not_service_pushes() -> None:
    quota_day = datetime(2026, 6, 15, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    service = Category(
        "orders", "Orders", config={"vendor_class": "service", "vendors": {"huawei": {"category": "EXPRESS"}}}
    )
    policy = GatePolicy(categories={"orders": service})
    spent = UserState(
        vendor_sent=tuple(
            pushed(f"v{i}", quota_day - i * 60, channel="huawei", device_id="d-huawei") for i in (1, 2)
        )
    )
    held = decide(delivery(channel="huawei"), spent, policy, quota_day)
    assert isinstance(held, Defer)
    assert held.reason == "vendor_quota:huawei"
    assert datetime.fromtimestamp(held.until, ZoneInfo("Asia/Shanghai")).strftime("%H:%M") == "00:00"
    assert decide(delivery(channel="huawei", category="orders"), spent, policy, quota_day) == Send()


users = st.builds(
    UserState,
    sent=st.lists(
        st.builds(
            pushed,
            st.sampled_from(("a", "b", "n")),
            st.floats(NOW - 3 * 86_400, NOW),
            category=st.sampled_from((None, "deals")),
        ),
        max_size=6,
    ).map(lambda pushes: tuple(sorted(pushes, key=lambda p: p.at))),
    timezone=st.sampled_from((None, "Asia/Kolkata", "America/New_York")),
    too_many=st.lists(st.floats(NOW - 86_400, NOW), max_size=2).map(tuple),
)
gate_policies = st.builds(
    GatePolicy,
    caps=st.lists(st.builds(Cap, st.sampled_from((3600, 86_400)), st.integers(1, 3)), max_size=2).map(tuple),
    min_gap_seconds=st.sampled_from((0, 600)),
    quiet_hours=st.none() | st.just(QuietWindow("21:00", "08:00")),
    fatigue=st.none() | st.just(FatigueModel()),
    digest=st.none() | st.just(DigestRule()),
)


@settings(max_examples=300, deadline=None)
@given(users, gate_policies, st.floats(0, 86_400), st.booleans(), st.sampled_from((0.0, 100.0)))
def test_explain_reaches_the_decision_decide_takes(user, policy, offset, transactional, holdout) -> None:
    item = delivery(transactional=transactional, holdout_percent=holdout, category="deals")
    decision, steps = explain(item, user, policy, NOW + offset)
    assert decision == decide(item, user, policy, NOW + offset)
    deciding = [step for step in steps if step.result not in ("pass", "not_reached")]
    assert len(deciding) == (0 if decision == Send() else 1)
    batch = screen_batch([item], BatchState({"ann": user}, {"app": policy}), NOW + offset)
    assert (
        explain_delivery(item, BatchState({"ann": user}, {"app": policy}), NOW + offset)[0]
        == batch.decisions[1]
    )

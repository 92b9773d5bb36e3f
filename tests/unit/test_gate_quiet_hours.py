"""Quiet hours in the user's own zone: properties across DST changes and half-hour zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pushwise.domain.audience.preferences import Category, Preferences, QuietHours
from pushwise.domain.gate import Defer, GateDelivery, GateNotice, GatePolicy, Send, UserState, decide
from pushwise.domain.gate.policy import QuietWindow
from pushwise.domain.gate.quiet_hours import inside, quiet_hours_check, user_zone

# DST both ways, half- and quarter-hour offsets, a 30-minute DST (Lord Howe), the date line.
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "UTC",
)
# Days around 2026's DST changes in both hemispheres, and ordinary days.
DAYS = [
    datetime(2026, m, d, tzinfo=UTC).timestamp()
    for m, d in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1), (6, 15))
]
times = st.sampled_from([f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)])
windows = st.builds(
    QuietWindow, start=times, end=times, spread_minutes=st.sampled_from((0, 10, 30, 120))
).filter(lambda w: w.start != w.end)
instants = st.builds(
    lambda day, offset: day + offset, st.sampled_from(DAYS), st.floats(-2 * 86_400, 2 * 86_400)
)


def _local(at: float, zone: str) -> datetime:
    return datetime.fromtimestamp(at, UTC).astimezone(ZoneInfo(zone))


def _delivery(transactional: bool = False, category: str | None = None) -> GateDelivery:
    notice = GateNotice(id="n", created_at=0.0, expires_at=None)
    return GateDelivery("apns", category, transactional, id=1, notice=notice, app_id="app", user_id="ann")


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(ZONES), windows, instants)
@example(
    "Europe/Berlin", QuietWindow("01:00", "02:30", 30), datetime(2026, 3, 29, 0, 45, tzinfo=UTC).timestamp()
)
@example(
    "America/New_York",
    QuietWindow("01:00", "01:30", 120),
    datetime(2026, 11, 1, 5, 15, tzinfo=UTC).timestamp(),
)
def test_nothing_goes_out_inside_quiet_hours_and_a_deferral_lands_outside(zone, window, now) -> None:
    policy = GatePolicy(quiet_hours=window)
    user = UserState(timezone=zone)
    decision = decide(_delivery(), user, policy, now)
    if isinstance(decision, Send):
        assert not inside(window, _local(now, zone))
        return
    assert isinstance(decision, Defer)
    assert decision.reason == "quiet_hours"
    assert inside(window, _local(now, zone))
    assert now < decision.until <= now + 86_400 + window.spread_minutes * 60 + 3600
    assert not inside(window, _local(decision.until, zone))
    # Come back when told: it goes (nothing else holds it).
    assert decide(_delivery(), user, policy, decision.until) == Send()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ZONES), windows, instants)
def test_the_spread_is_the_same_for_a_user_and_within_the_span(zone, window, now) -> None:
    user = UserState(timezone=zone)
    first = quiet_hours_check(_delivery(), user, GatePolicy(quiet_hours=window), now)
    again = quiet_hours_check(_delivery(), user, GatePolicy(quiet_hours=window), now + 1)
    if isinstance(first, Defer) and isinstance(again, Defer):
        assert first.until == again.until
    if isinstance(first, Defer):
        local = _local(first.until, zone)
        end_hour, end_minute = (int(p) for p in window.end.split(":"))
        minutes_after_end = (local.hour * 60 + local.minute - end_hour * 60 - end_minute) % (24 * 60)
        assert minutes_after_end <= window.spread_minutes + 60  # +60: an end inside a DST gap lands later


def test_a_one_time_code_does_not_wait_but_a_shipping_notice_of_a_category_that_says_so_does() -> None:
    night = datetime(2026, 6, 15, 23, 30, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    policy = GatePolicy(
        categories={"shipping": Category("shipping", "Shipping", config={"quiet_hours_transactional": True})},
        quiet_hours=QuietWindow("21:00", "08:00"),
    )
    user = UserState(timezone="Europe/Berlin")
    assert decide(_delivery(transactional=True), user, policy, night) == Send()
    shipping = decide(_delivery(transactional=True, category="shipping"), user, policy, night)
    assert isinstance(shipping, Defer)
    assert _local(shipping.until, "Europe/Berlin").hour == 8


def test_the_users_own_hours_beat_the_category_and_the_category_beats_the_app() -> None:
    policy = GatePolicy(
        categories={
            "breaking": Category("breaking", "Breaking", config={"quiet_hours": None}),
            "deals": Category("deals", "Deals", config={"quiet_hours": {"start": "20:00", "end": "10:00"}}),
        },
        quiet_hours=QuietWindow("22:00", "07:00", spread_minutes=0),
    )
    nine_am = datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata")).timestamp()
    user = UserState(timezone="Asia/Kolkata")
    assert decide(_delivery(category="breaking"), user, policy, nine_am) == Send()
    assert decide(_delivery(), user, policy, nine_am) == Send()
    deals = decide(_delivery(category="deals"), user, policy, nine_am)
    assert isinstance(deals, Defer)
    assert _local(deals.until, "Asia/Kolkata").hour == 10
    own = UserState(
        timezone="Asia/Kolkata", preferences=Preferences(quiet_hours=QuietHours("08:30", "09:30"))
    )
    breaking = decide(_delivery(category="breaking"), own, policy, nine_am)
    assert isinstance(breaking, Defer)
    assert _local(breaking.until, "Asia/Kolkata").strftime("%H:%M") == "09:30"


def test_a_user_without_a_zone_gets_the_devices_then_the_countrys_then_the_apps() -> None:
    policy = GatePolicy(default_timezone="America/Sao_Paulo")
    device = GateDelivery("apns", None, False, timezone="Asia/Tokyo")
    bare = GateDelivery("apns", None, False)
    assert user_zone(device, UserState(timezone="Europe/Paris"), policy).key == "Europe/Paris"
    assert user_zone(device, UserState(country="DE"), policy).key == "Asia/Tokyo"
    assert user_zone(bare, UserState(country="IN"), policy).key == "Asia/Kolkata"
    assert user_zone(bare, UserState(), policy).key == "America/Sao_Paulo"
    assert user_zone(bare, UserState(timezone="Not/AZone"), policy).key == "America/Sao_Paulo"


def test_a_deferral_that_would_outlive_the_message_suppresses_it() -> None:
    night = datetime(2026, 6, 15, 23, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    notice = GateNotice(id="n", created_at=night, expires_at=night + 3600)
    delivery = GateDelivery("apns", None, False, id=1, notice=notice, user_id="ann")
    decision = decide(delivery, UserState(), GatePolicy(quiet_hours=QuietWindow("22:00", "08:00")), night)
    assert decision.reason == "quiet_hours"
    assert not isinstance(decision, Defer)

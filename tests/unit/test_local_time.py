from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.local_time import next_local_occurrence


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_later_today_in_the_recipients_zone() -> None:
    after = epoch("2026-11-25T00:30:00+00:00")  # 08:30 in Shanghai
    due = next_local_occurrence("09:00", "Asia/Shanghai", after)
    assert datetime.fromtimestamp(due, ZoneInfo("Asia/Shanghai")).isoformat() == "2026-11-25T09:00:00+08:00"


def test_tomorrow_when_the_time_has_passed() -> None:
    after = epoch("2026-11-25T10:00:00+00:00")  # 05:00 in New York
    due = next_local_occurrence("04:00", "America/New_York", after)
    assert (
        datetime.fromtimestamp(due, ZoneInfo("America/New_York")).isoformat() == "2026-11-26T04:00:00-05:00"
    )


def test_unknown_zone_falls_back_to_utc() -> None:
    after = epoch("2026-11-25T08:00:00+00:00")
    assert next_local_occurrence("09:00", "Mars/Olympus", after) == epoch("2026-11-25T09:00:00+00:00")


def test_dst_gap_moves_forward_not_back() -> None:
    after = epoch("2026-03-08T05:00:00+00:00")  # 00:00 EST on the spring-forward day
    due = next_local_occurrence("02:30", "America/New_York", after)
    assert due > after
    assert due - after < 86_400


@given(
    after=st.floats(min_value=1.6e9, max_value=2.0e9),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from(
        ["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
    ),
)
def test_always_within_two_days_and_never_before(after: float, hour: int, minute: int, zone: str) -> None:
    due = next_local_occurrence(f"{hour:02d}:{minute:02d}", zone, after)
    assert after <= due < after + 2 * 86_400
    local = datetime.fromtimestamp(due, UTC).astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) in {
        (hour, minute),
        ((hour + 1) % 24, minute),
        (hour, (minute + 30) % 60),
    }

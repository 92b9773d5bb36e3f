"""Content that fits: truncation and the fallback ladder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.fallback import first_user_channel, remaining_steps, unreached
from pushwise.domain.fallback_content import (
    ELLIPSIS,
    is_too_large,
    shortened,
    smaller_specs,
    smallest_with_data,
    truncated,
)
from pushwise.domain.notification import Content, Fallback, NotificationSpec
from pushwise.domain.outcomes import Outcome, OutcomeKind


@given(st.text(max_size=400), st.integers(4, 300))
def test_truncated_fits_and_keeps_a_prefix(text: str, limit: int) -> None:
    cut = truncated(text, limit)
    assert cut is not None
    assert len(cut.encode()) <= limit
    if cut != text:
        assert cut.endswith(ELLIPSIS)
        assert text.startswith(cut[: -len(ELLIPSIS)])


def test_short_text_is_left_alone() -> None:
    assert truncated("Hello", 10) == "Hello"
    assert truncated(None, 10) is None


def test_multibyte_text_is_cut_on_a_character_boundary() -> None:
    cut = truncated("订单已发货" * 100, 20)
    assert cut == "订单已发货" + ELLIPSIS


def test_ladder_is_sender_content_then_shortened_then_without_data() -> None:
    spec = NotificationSpec(
        Content(body="x" * 3000, data={"k": "v"}),
        fallback=Fallback(content=Content(body="y" * 2000, data={"k": "v"}, image="https://i")),
    )
    ladder = smaller_specs(spec)
    assert [label for label, _ in ladder] == ["fallback_content", "shortened", "without_data"]
    assert ladder[1][1].content.data == {"k": "v"}
    assert (ladder[2][1].content.data, ladder[2][1].content.image) == ({}, None)
    assert smallest_with_data(spec) == ladder[1][1]


def test_small_content_without_data_has_no_ladder() -> None:
    spec = NotificationSpec(Content(title="Hi", body="There"))
    assert smaller_specs(spec) == []
    assert smallest_with_data(spec) is spec
    assert shortened(spec.content) == spec.content


def test_too_large_is_our_check_or_the_providers_413() -> None:
    assert is_too_large(Outcome(OutcomeKind.PERMANENT, "PayloadTooLarge"))
    assert is_too_large(Outcome(OutcomeKind.PERMANENT, "", 413))
    assert not is_too_large(Outcome(OutcomeKind.PERMANENT, "BadCollapseId", 400))


def test_unreached_means_every_delivery_gave_up() -> None:
    assert unreached(["failed", "expired", "fallback"])
    assert not unreached(["failed", "delivered"])
    assert not unreached(["failed", "retrying"])
    assert not unreached(["cancelled"])
    assert not unreached([])


def test_remaining_steps_skip_done_and_tried_channels() -> None:
    channels = ("apns", "email", "inbox")
    assert list(remaining_steps(channels, 0, {"apns"})) == [(2, "email"), (3, "inbox")]
    assert list(remaining_steps(channels, 2, set())) == [(3, "inbox")]
    assert first_user_channel(("fcm", "webpush", "email")) == (3, "email")
    assert first_user_channel(("fcm",)) is None

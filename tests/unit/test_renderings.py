"""Renderings kept per notification: shared while the spec lives, never mixed up between specs."""

from __future__ import annotations

from functools import partial

import pytest

from pushwise.domain.notification import Content, NotificationSpec
from pushwise.providers.renderings import PerNotification


def spec(title: str = "hi") -> NotificationSpec:
    return NotificationSpec(Content(title=title))


def test_one_rendering_per_spec_and_dependency() -> None:
    table: PerNotification[str] = PerNotification()
    calls: list[str] = []

    def render(label: str) -> str:
        calls.append(label)
        return label

    sale = spec("sale")
    assert table.rendered(sale, 60, lambda: render("a")) == "a"
    assert table.rendered(sale, 60, lambda: render("b")) == "a"
    assert table.rendered(sale, 59, lambda: render("c")) == "c"
    assert (
        table.rendered(spec("sale"), 60, lambda: render("d")) == "d"
    )  # an equal spec is another notification
    assert calls == ["a", "c", "d"]


def test_a_failed_rendering_is_not_kept() -> None:
    table: PerNotification[str] = PerNotification()
    sale = spec()

    def refuse() -> str:
        raise ValueError("too large")

    with pytest.raises(ValueError):
        table.rendered(sale, None, refuse)
    assert table.rendered(sale, None, lambda: "ok") == "ok"


def test_a_full_table_starts_afresh_and_stays_bounded() -> None:
    table: PerNotification[int] = PerNotification(size=2)
    specs = [spec(str(n)) for n in range(5)]
    for n, kept in enumerate(specs):
        assert table.rendered(kept, None, partial(int, n)) == n
        assert len(table) <= 2
    assert table.rendered(specs[4], None, partial(int, -1)) == 4


def test_a_table_needs_room() -> None:
    with pytest.raises(ValueError):
        PerNotification(size=0)

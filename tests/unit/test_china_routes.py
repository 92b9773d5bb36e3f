"""Routing within an installation: one route at a time, always forward, never twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.china.routes import (
    RouteDevice,
    RoutesRefused,
    checked_routes,
    first_route,
    next_route,
)

devices = st.lists(
    st.builds(
        RouteDevice,
        st.text("abcdef", min_size=1, max_size=4),
        st.sampled_from([None, "huawei", "xiaomi"]),
        st.just("x"),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda device: device.device_id,
)
orders = st.sampled_from([("vendor", "fcm"), ("fcm", "vendor"), ("vendor",), ("fcm",)])


@given(devices, orders)
def test_following_next_route_visits_each_usable_device_once_in_order(
    siblings: list[RouteDevice], routes: tuple[str, ...]
) -> None:
    current = first_route(siblings, routes)
    usable = [
        d
        for d in siblings
        if (d.vendor is not None and "vendor" in routes) or (d.vendor is None and "fcm" in routes)
    ]
    visited = []
    while current is not None:
        assert current not in visited
        visited.append(current)
        current = next_route(current, siblings, routes)
    assert sorted(d.device_id for d in visited) == sorted(d.device_id for d in usable)
    ranks = [routes.index("vendor" if d.vendor else "fcm") for d in visited]
    assert ranks == sorted(ranks)


def test_vendor_first_by_default() -> None:
    fcm, huawei = RouteDevice("a", None, "fcm"), RouteDevice("b", "huawei", "huawei")
    assert first_route([fcm, huawei], ("vendor", "fcm")) == huawei
    assert next_route(huawei, [fcm, huawei], ("vendor", "fcm")) == fcm
    assert next_route(fcm, [fcm, huawei], ("vendor", "fcm")) is None
    assert first_route([fcm, huawei], ("fcm", "vendor")) == fcm


@pytest.mark.parametrize("routes", [[], ["vendor", "vendor"], ["apns"]])
def test_bad_routes_are_refused(routes: list[str]) -> None:
    with pytest.raises(RoutesRefused):
        checked_routes(routes)

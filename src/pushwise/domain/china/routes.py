"""Which of an installation's devices a notification goes to, and where it goes next.

Devices that share an `installation_id` are one app on one phone, registered once per
push service it can use (its maker's service, FCM). A notification goes to exactly one
of them: the first active one in the app's `android_routes` order. When that route
cannot deliver (token dead, the vendor's quota spent, its circuit open) the same
delivery moves on to the next route, never back, and never to two at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ROUTES = ("vendor", "fcm")
DEFAULT_ROUTES: tuple[str, ...] = ("vendor", "fcm")


class RoutesRefused(ValueError):
    """`android_routes` names an unknown route, repeats one, or is empty."""


def checked_routes(routes: Iterable[str]) -> tuple[str, ...]:
    given = tuple(routes)
    if not given:
        raise RoutesRefused("android_routes needs at least one route")
    unknown = [route for route in given if route not in ROUTES]
    if unknown:
        raise RoutesRefused(f"unknown route {unknown[0]!r}: android_routes takes {', '.join(ROUTES)}")
    if len(set(given)) != len(given):
        raise RoutesRefused("android_routes names a route twice")
    return given


def route_of(vendor: str | None) -> str:
    """An Android device with a vendor token is reached by the vendor route, else by FCM."""
    return "vendor" if vendor else "fcm"


def rank(vendor: str | None, routes: Sequence[str]) -> int | None:
    """Position of the device's route in the app's order; None: the app does not use that route."""
    route = route_of(vendor)
    return routes.index(route) if route in routes else None


@dataclass(frozen=True, slots=True)
class RouteDevice:
    """One active device of an installation, as routing sees it."""

    device_id: str
    vendor: str | None
    channel: str


def _order(device: RouteDevice, routes: Sequence[str]) -> tuple[int, str] | None:
    position = rank(device.vendor, routes)
    return None if position is None else (position, device.device_id)


def next_route(
    current: RouteDevice, siblings: Sequence[RouteDevice], routes: Sequence[str]
) -> RouteDevice | None:
    """The sibling after `current` in route order (ties by device id), or None at the end.

    Strictly after: a delivery only moves forward, so it can never come back to a route
    that already failed it, however often it moves.
    """
    here = _order(current, routes) or (-1, current.device_id)
    later = [
        (order, device)
        for device in siblings
        if device.device_id != current.device_id
        and (order := _order(device, routes)) is not None
        and order > here
    ]
    return min(later, key=lambda pair: pair[0])[1] if later else None


def first_route(devices: Sequence[RouteDevice], routes: Sequence[str]) -> RouteDevice | None:
    """Where a new notification goes first: the installation's best-ranked active device."""
    ranked = [(order, device) for device in devices if (order := _order(device, routes)) is not None]
    return min(ranked, key=lambda pair: pair[0])[1] if ranked else None

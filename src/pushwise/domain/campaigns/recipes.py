"""Built-in journeys with sensible defaults: an app names a recipe and what to say, pushwise the rest.

- `abandoned_cart`: starts on `added_to_cart`; after 1 h a reminder, after 24 h more (if still no
  purchase) a second one; leaves on `purchased` or `unsubscribed`; a user enters once a day at most.
- `back_in_stock`: an item the user viewed or carted in the last 30 days is in stock again; one
  push about it; leaves on `purchased` or `unsubscribed`.
- `price_drop`: an item the user viewed or carted in the last 30 days got cheaper; one push;
  leaves on `purchased` or `unsubscribed`.
- `new_arrival`: a new item in the user's favourite category (strongest interest); one push at
  the user's 10:00; leaves on `unsubscribed`.
- `win_back`: the user has been inactive for `inactive_days` (default 14); one push at the
  user's 18:00, unless they come back first (leaves on `app_open`, `purchased` or `unsubscribed`);
  again after 30 days at most.

Every recipe leaves on `unsubscribed` (from any channel): someone who just said "stop" is not
sent the rest of a sequence. An `exit` (the journey shape) replaces a recipe's exits.

The catalogue-driven triggers (`back_in_stock`, `price_drop`, `new_arrival`) and `win_back` are
*system triggers*: pushwise itself starts those runs (on a catalogue update, and in the leader's
daily sweep), with the item in the run's `event` (`event.item_id`, `event.item`).
Defaults are overridden by giving the same keys (`wait_seconds`, `second_after_seconds`,
`inactive_days`, `reentry_seconds`, `exit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SYSTEM_TRIGGERS = frozenset({"back_in_stock", "price_drop", "new_arrival", "win_back"})
RECIPES = ("abandoned_cart", "back_in_stock", "price_drop", "new_arrival", "win_back")
_EXITS = {
    "abandoned_cart": ["purchased", "unsubscribed"],
    "back_in_stock": ["purchased", "unsubscribed"],
    "price_drop": ["purchased", "unsubscribed"],
    "new_arrival": ["unsubscribed"],
    "win_back": ["app_open", "purchased", "unsubscribed"],
}


class RecipeInvalid(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def recipe_journey(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The journey definition of recipe `name`, with `options` (`notify`, `second_notify`, ...) applied."""
    notify = options.get("notify")
    if not isinstance(notify, Mapping):
        raise RecipeInvalid("notify", "what to send: a notification body without 'to' (content or template)")
    if name not in RECIPES:
        raise RecipeInvalid("recipe", f"one of {', '.join(RECIPES)}")
    exit_ = options.get("exit", {"events": _EXITS[name]})
    if name == "abandoned_cart":
        second = options.get("second_notify", notify)
        return {
            "trigger": {"event": "added_to_cart"},
            "steps": [
                {"wait_seconds": options.get("wait_seconds", 3600)},
                {"notify": notify},
                {"wait_seconds": options.get("second_after_seconds", 86_400)},
                {
                    "if": {"field": "did.purchased", "op": "exists", "value": False},
                    "then": [{"notify": second}],
                },
            ],
            "exit": exit_,
            "reentry_seconds": options.get("reentry_seconds", 86_400),
        }
    if name in ("back_in_stock", "price_drop"):
        return {
            "trigger": {"event": name},
            "steps": [{"notify": notify}],
            "exit": exit_,
            "reentry_seconds": options.get("reentry_seconds", 7 * 86_400),
        }
    if name == "new_arrival":
        return {
            "trigger": {"event": "new_arrival"},
            "steps": [{"wait_until_local": options.get("local_time", "10:00")}, {"notify": notify}],
            "exit": exit_,
            "reentry_seconds": options.get("reentry_seconds", 86_400),
        }
    if name == "win_back":
        return {
            "trigger": {"event": "win_back", "inactive_days": options.get("inactive_days", 14)},
            "steps": [{"wait_until_local": options.get("local_time", "18:00")}, {"notify": notify}],
            "exit": exit_,
            "reentry_seconds": options.get("reentry_seconds", 30 * 86_400),
        }
    raise AssertionError(name)  # RECIPES lists every branch above

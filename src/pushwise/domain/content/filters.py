"""Template filters for money, dates, numbers and plurals, in the user's locale and zone (Babel, CLDR).

They read the rendering's locale and time zone from the template context (`_locale`,
`_timezone`), so `{{ item.price | money(item.currency) }}` shows `59,50 €` to a German
user and `€59.50` to an English one, and `{{ event.at | date }}` shows the user's own
date, not the server's.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

LOCALE_KEY = "_locale"
TIMEZONE_KEY = "_timezone"


@lru_cache(maxsize=512)
def babel_locale(tag: str | None) -> Locale:
    try:
        return Locale.parse((tag or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse((tag or "en").replace("-", "_").split("_")[0])
        except (UnknownLocaleError, ValueError):
            return Locale.parse("en")


def _locale(context: Context) -> Locale:
    return babel_locale(context.get(LOCALE_KEY))


def _zone(context: Context) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(context.get(TIMEZONE_KEY) or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@pass_context
def money(context: Context, value: Any, currency: str | None = None) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value) if value is not None else ""
    return _money(value, (currency or "EUR").upper(), context.get(LOCALE_KEY))


@lru_cache(maxsize=8192)
def _money(value: float, currency: str, tag: str | None) -> str:
    """A campaign prints the same few prices for many users: each is formatted once."""
    return format_currency(value, currency, locale=babel_locale(tag))


@pass_context
def number(context: Context, value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value) if value is not None else ""
    return format_decimal(value, locale=_locale(context))


@pass_context
def date(context: Context, value: Any, format: str = "medium") -> str:
    instant = _instant(value)
    if instant is None:
        return ""
    return format_date(instant.astimezone(_zone(context)).date(), format=format, locale=_locale(context))


@pass_context
def time(context: Context, value: Any, format: str = "short") -> str:
    instant = _instant(value)
    if instant is None:
        return ""
    return format_time(instant.astimezone(_zone(context)), format=format, locale=_locale(context))


@pass_context
def datetime_filter(context: Context, value: Any, format: str = "medium") -> str:
    instant = _instant(value)
    if instant is None:
        return ""
    return format_datetime(instant, format=format, tzinfo=_zone(context), locale=_locale(context))


@pass_context
def plural(context: Context, count: Any, one: str, other: str, **forms: str) -> str:
    """`{{ n | plural("item", "items") }}`; `few=`, `many=`, `two=`, `zero=` for languages that have them.

    The form is chosen by the locale's CLDR plural rule (Russian 3 is `few`, English 3 `other`).
    """
    if not isinstance(count, int | float) or isinstance(count, bool):
        return other
    form = _locale(context).plural_form(count)
    chosen = {"one": one, "other": other, **forms}
    return chosen.get(form, other)


FILTERS = {
    "money": money,
    "number": number,
    "date": date,
    "time": time,
    "datetime": datetime_filter,
    "plural": plural,
}

"""ISO 3166-1 alpha-2 country codes, and each country's most likely time zone.

Both come from the IANA time zone database that the `tzdata` package ships
(`iso3166.tab`, `zone.tab`), so they move with the zone data. The "most likely" zone
is the first one `zone.tab` lists for the country (the database usually lists the
principal zone first: US -> America/New_York, CN -> Asia/Shanghai), except for the
few multi-zone countries where it starts at an edge, overridden below with the zone
of the largest population.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


def _table(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def country_codes() -> frozenset[str]:
    return frozenset(row[0] for row in _table("iso3166.tab"))


# Where `zone.tab`'s first zone is not where most people live.
_MOST_POPULOUS = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UZ": "Asia/Tashkent",
    "FM": "Pacific/Pohnpei",
}


@cache
def _first_zones() -> dict[str, str]:
    zones: dict[str, str] = dict(_MOST_POPULOUS)
    for row in _table("zone.tab"):
        for code in row[0].split(","):
            zones.setdefault(code, row[2])
    return zones


def check_country(code: str) -> str:
    """An upper-case ISO 3166-1 alpha-2 code; lower case is accepted and normalised."""
    normalised = code.strip().upper()
    if normalised not in country_codes():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code such as 'CN' or 'DE'")
    return normalised


def likely_timezone(country: str | None) -> str | None:
    """The country's most populous zone, for users who never told us theirs."""
    return _first_zones().get(country) if country else None

"""A million users for the segment benchmark, made inside the database (no API, no Python rows).

Deterministic: every value is a function of the user's number `i` (Knuth-style multiplicative
hashes), so both engines get the same population and the rule selects the same users. Each user
has one active iOS device, a country (a quarter in DE), a last activity up to 60 days back, and
an interest in `shoes` for four in seven (plus `books` for noise) with weights and ages spread out.
"""

from __future__ import annotations

import math
import sqlite3

import asyncpg

DAY = 86_400.0
COUNTRIES = ("DE", "DE", "DE", "DE", "FR", "US", "CN", "GB", "IT", "ES", "PL", "NL", "SE", "AT", "CH", "JP")
RULE = {
    "all": [
        {"field": "interests.shoes", "op": ">", "value": 0.3},
        {"field": "country", "op": "=", "value": "DE"},
        {"field": "last_active_days", "op": "<", "value": 30},
    ]
}


def _country_case(expression: str) -> str:
    picks = " ".join(f"WHEN {n} THEN '{code}'" for n, code in enumerate(COUNTRIES))
    return f"CASE {expression} {picks} END"


def statements(app_id: str, users: int, now: float, *, postgres: bool) -> list[str]:
    """SQL that fills users, devices and interests for `app_id` (no parameters: all literals)."""
    series = (
        f"generate_series(0::bigint, {users - 1}) AS g(i)"
        if postgres
        else f"(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {users - 1}) "
        "SELECT i FROM g) AS g"
    )
    mod = "%"
    true = "true" if postgres else "1"
    user_id = "'usr_' || i"
    return [
        "INSERT INTO users (id, app_id, external_id, attributes, tags, created_at, updated_at, "
        "country, email_verified, last_active_at, opens_decayed, pushes_decayed) "
        f"SELECT {user_id}, '{app_id}', 'user-' || i, '{{}}', '[]', {now}, {now}, "
        f"{_country_case(f'((i * 2654435761) {mod} {len(COUNTRIES)})')}, false, "
        f"{now} - ((i * 48271) {mod} 5184000), 0, 0 FROM {series}",
        "INSERT INTO devices (id, app_id, user_id, platform, token, active, created_at, updated_at) "
        f"SELECT 'dev_' || i, '{app_id}', {user_id}, 'ios', 'tok' || i, {true}, {now}, {now} FROM {series}",
        "INSERT INTO user_interests (user_id, category, app_id, weight, at) "
        f"SELECT {user_id}, 'shoes', '{app_id}', ((i * 16807) {mod} 1000) / 100.0, "
        f"{now} - ((i * 69621) {mod} 3628800) FROM {series} WHERE (i * 40693) {mod} 7 < 4",
        "INSERT INTO user_interests (user_id, category, app_id, weight, at) "
        f"SELECT {user_id}, 'books', '{app_id}', ((i * 39373) {mod} 1000) / 100.0, "
        f"{now} - ((i * 48271) {mod} 3628800) FROM {series} WHERE (i * 39371) {mod} 5 < 2",
    ]


def fill_sqlite(path: str, app_id: str, users: int, now: float) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        for statement in statements(app_id, users, now, postgres=False):
            connection.execute(statement)
        connection.execute("COMMIT")
    finally:
        connection.close()


async def fill_postgres(url: str, app_id: str, users: int, now: float) -> None:
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            for statement in statements(app_id, users, now, postgres=True):
                await connection.execute(statement)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def raw_count_sql(app_id: str, now: float, half_life: float) -> str:
    """The benchmark rule hand-written: the ceiling a person writing SQL for this one rule gets."""
    threshold = -4.0 * math.log2(1.0 - 0.3)  # affinity 0.3 as a raw weight
    return (
        f"SELECT count(*) FROM users u WHERE u.app_id = '{app_id}' AND u.country = 'DE' "
        f"AND u.last_active_at > {now - 30 * DAY} AND EXISTS (SELECT 1 FROM user_interests i "
        f"WHERE i.user_id = u.id AND i.category = 'shoes' AND i.weight > {threshold} "
        f"AND i.weight * exp(-0.6931471805599453 * ({now} - i.at) / {half_life}) > {threshold})"
    )

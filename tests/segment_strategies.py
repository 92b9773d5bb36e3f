"""Generated users and rules for holding segment rules to their reference evaluator.

Values come from small pools, so that rules and users collide often: equal values,
exact day boundaries, both signs of interest, every JSON kind under one key.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.preferences import Category
from pushwise.domain.audience.reference import Person

NOW = 1_800_000_000.0 + 12_345.5  # mid-day, so day windows and hour offsets both matter
DAY = 86_400.0
TODAY = math.floor(NOW / DAY)
HALF_LIFE = 14 * DAY

KEYS = ("plan", "age", "vip", "list")
STRINGS = ("", "a", "ab", "pro", "B", "é", "中")
NUMBERS = (-2.5, -1.0, 0.0, 1.0, 2.0, 2.5, 10.0)
CATEGORIES = ("shoes", "books")
PREFERENCE_CATEGORIES = ("promotions", "news", "undeclared")
CHANNELS = ("email", "apns")
LOCALES = ("de", "de-DE", "DE-at", "zh", "zh-Hant-TW", "zha", "en")
COUNTRIES = ("DE", "FR", "CN")
ZONES = ("Europe/Berlin", "Asia/Shanghai", "UTC")
PLATFORMS = ("ios", "android", "web")
CENTER = (52.52, 13.40)

scalars = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.integers(-3, 3), st.booleans())
attribute_values = st.one_of(scalars, st.none(), st.lists(scalars, max_size=3), st.just({"x": 1}))
# Interest weights and times: both signs, tiny and large, referring to the future, now, the past,
# and far enough back for the decay to underflow.
weights = st.one_of(st.sampled_from((-8.0, -1.0, 0.0, 0.5, 1.0, 2.0, 4.0, 12.0)), st.floats(-30, 30))
interest_ages = st.one_of(
    st.sampled_from((-DAY, 0.0, 3600.0, HALF_LIFE, 3 * HALF_LIFE, 1500 * HALF_LIFE)),
    st.floats(0, 200 * DAY),
)
engagement_days = st.sampled_from((TODAY + 1, TODAY, TODAY - 6, TODAY - 7, TODAY - 29, TODAY - 30, 0))
counters = st.fixed_dictionaries(
    {
        "sent": st.integers(0, 3),
        "delivered": st.integers(0, 3),
        "opened": st.integers(0, 2),
        "clicked": st.integers(0, 2),
        "dismissed": st.integers(0, 1),
        "converted": st.integers(0, 1),
        # Halves add up exactly whatever the order: the engines may sum in any order.
        "revenue": st.integers(0, 40).map(lambda n: n / 2),
    }
)
last_active = st.one_of(
    st.none(),
    st.builds(
        lambda days, offset: NOW - days * DAY + offset,
        st.integers(-1, 40),
        st.sampled_from((0.0, -1.0, 1.0, 0.5, -DAY / 2)),
    ),
)
coordinates = st.one_of(
    st.none(),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
    st.tuples(st.floats(52.0, 53.0), st.floats(13.0, 14.0)),
)


@st.composite
def persons(draw: st.DrawFn) -> Person:
    location = draw(coordinates)
    return Person(
        attributes=draw(st.dictionaries(st.sampled_from(KEYS), attribute_values, max_size=3)),
        tags=draw(st.lists(st.sampled_from(("a", "b", "c")), max_size=2, unique=True)),
        country=draw(st.none() | st.sampled_from(COUNTRIES)),
        locale=draw(st.none() | st.sampled_from(LOCALES)),
        timezone=draw(st.none() | st.sampled_from(ZONES)),
        lat=location[0] if location else None,
        lon=location[1] if location else None,
        last_active_at=draw(last_active),
        platforms=frozenset(draw(st.lists(st.sampled_from(PLATFORMS), max_size=2))),
        interests={
            category: Decayed(weight, NOW - age)
            for category, (weight, age) in draw(
                st.dictionaries(st.sampled_from(CATEGORIES), st.tuples(weights, interest_ages), max_size=2)
            ).items()
        },
        engagement=draw(st.dictionaries(engagement_days, counters, max_size=3)),
        preferences=draw(
            st.dictionaries(
                st.tuples(st.sampled_from(PREFERENCE_CATEGORIES), st.sampled_from(CHANNELS)),
                st.booleans(),
                max_size=3,
            )
        ),
        unsubscribed=frozenset(draw(st.lists(st.sampled_from(CHANNELS), max_size=1))),
    )


def _leaf(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} if value is None else {"field": field, "op": op, "value": value}


_comparisons = st.sampled_from(("=", "!=", "<", "<=", ">", ">="))
leaves = st.one_of(
    st.builds(
        _leaf,
        st.sampled_from(KEYS).map(lambda key: f"attributes.{key}"),
        _comparisons,
        st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS)),
    ),
    st.builds(_leaf, st.sampled_from(KEYS).map(lambda key: f"attributes.{key}"), st.just("="), st.booleans()),
    st.builds(
        _leaf,
        st.sampled_from(KEYS).map(lambda key: f"attributes.{key}"),
        st.just("in"),
        st.lists(scalars, min_size=1, max_size=3),
    ),
    st.builds(
        _leaf, st.sampled_from(KEYS).map(lambda key: f"attributes.{key}"), st.just("contains"), scalars
    ),
    st.builds(
        _leaf, st.sampled_from(KEYS).map(lambda key: f"attributes.{key}"), st.just("exists"), st.booleans()
    ),
    st.builds(_leaf, st.just("tags"), st.just("contains"), st.sampled_from(("a", "b", "z"))),
    st.builds(_leaf, st.just("tags"), st.just("in"), st.lists(st.sampled_from(("a", "c")), min_size=1)),
    st.builds(_leaf, st.just("tags"), st.just("exists"), st.booleans()),
    st.builds(
        _leaf,
        st.sampled_from(CATEGORIES).map(lambda category: f"interests.{category}"),
        st.sampled_from(("<", "<=", ">", ">=")),
        st.one_of(st.sampled_from((-0.5, 0.0, 0.2, 0.3, 0.5, 0.9)), st.floats(-0.99, 0.99)),
    ),
    st.builds(
        _leaf,
        st.builds(
            "engagement.{}.{}".format,
            st.sampled_from(("7d", "30d", "all")),
            st.sampled_from(("opened", "clicked", "revenue", "sent")),
        ),
        _comparisons,
        st.sampled_from((0, 1, 2, 2.5, 10)),
    ),
    st.builds(_leaf, st.just("last_active_days"), _comparisons, st.integers(0, 35)),
    st.builds(_leaf, st.just("last_active_days"), st.just("in"), st.lists(st.integers(0, 10), min_size=1)),
    st.builds(_leaf, st.just("last_active_days"), st.just("exists"), st.booleans()),
    st.builds(_leaf, st.just("country"), st.sampled_from(("=", "!=")), st.sampled_from(COUNTRIES)),
    st.builds(_leaf, st.just("country"), st.just("in"), st.lists(st.sampled_from(COUNTRIES), min_size=1)),
    st.builds(_leaf, st.sampled_from(("country", "locale", "timezone")), st.just("exists"), st.booleans()),
    st.builds(_leaf, st.just("locale"), st.sampled_from(("=", "!=", "prefix")), st.sampled_from(LOCALES)),
    st.builds(_leaf, st.just("timezone"), st.sampled_from(("=", "!=")), st.sampled_from(ZONES)),
    st.builds(_leaf, st.just("platform"), st.sampled_from(("=", "!=")), st.sampled_from(PLATFORMS)),
    st.builds(_leaf, st.just("platform"), st.just("exists"), st.booleans()),
    st.builds(
        _leaf,
        st.just("location"),
        st.just("within_km"),
        st.fixed_dictionaries(
            {
                "lat": st.just(CENTER[0]) | st.floats(-90, 90),
                "lon": st.just(CENTER[1]) | st.floats(-180, 180),
                "km": st.sampled_from((0.0, 10.0, 50.0, 100.0, 5000.0, 25_000.0)) | st.floats(0, 30_000),
            }
        ),
    ),
    st.builds(_leaf, st.just("location"), st.just("exists"), st.booleans()),
    st.builds(
        _leaf,
        st.builds(
            "preference.{}.{}".format, st.sampled_from(PREFERENCE_CATEGORIES), st.sampled_from(CHANNELS)
        ),
        st.sampled_from(("=", "!=")),
        st.booleans(),
    ),
)
rules = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(children, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(children, max_size=3)),
        st.builds(lambda item: {"not": item}, children),
    ),
    max_leaves=6,
)
# The app's declared categories ("undeclared" never is), on all channels or some.
app_categories = st.builds(
    lambda found: {
        key: Category(key, key, default_on, channels) for key, (default_on, channels) in found.items()
    },
    st.fixed_dictionaries(
        {
            key: st.tuples(st.booleans(), st.none() | st.sampled_from((("email",), ("apns",), CHANNELS)))
            for key in ("promotions", "news")
        }
    ),
)

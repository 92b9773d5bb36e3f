"""Item picks: relevance first, never out of stock, never repeated within the window; item rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.content.item_rules import ItemRuleInvalid, parse_item_rule
from pushwise.domain.content.picks import DAY, Item, best_pick, build_index, rank

NOW = 1_800_000_000.0

ITEMS = st.lists(
    st.builds(
        Item,
        id=st.text(alphabet="abcdefghij", min_size=1, max_size=4),
        category=st.sampled_from([None, "shoes", "books", "tea"]),
        stock=st.sampled_from([None, -1, 0, 1, 5]),
        launched_at=st.one_of(st.none(), st.floats(min_value=NOW - 400 * DAY, max_value=NOW)),
    ),
    max_size=30,
    unique_by=lambda item: item.id,
)


@given(
    ITEMS,
    st.dictionaries(st.sampled_from(["shoes", "books", "tea"]), st.floats(min_value=-1, max_value=1)),
    st.sets(st.text(alphabet="abcdefghij", min_size=1, max_size=4)),
)
def test_picks_are_available_not_repeated_and_best_first(items, interests, pushed) -> None:
    ranked = rank(items, interests=interests, popularity={}, pushed=pushed, seen=set(), now=NOW, limit=50)
    assert all(scored.item.available and scored.item.id not in pushed for scored in ranked)
    scores = [scored.score for scored in ranked]
    assert scores == sorted(scores, reverse=True)
    assert (
        rank(items, interests=interests, popularity={}, pushed=pushed, seen=set(), now=NOW, limit=50)
        == ranked
    )


def test_interest_recency_popularity_and_novelty_each_count() -> None:
    old = NOW - 300 * DAY
    shoes = Item("boots", "shoes", 3, old)
    books = Item("novel", "books", 3, old)
    fresh = Item("fresh-novel", "books", 3, NOW)
    ranked = rank(
        [books, shoes, fresh],
        interests={"shoes": 0.8, "books": 0.1},
        popularity={"novel": 10.0},
        pushed=set(),
        seen={"boots"},
        now=NOW,
    )
    # boots: interest 0.8, already seen; novel: 0.1 + popular 0.4 + new to the user 0.2;
    # fresh-novel: 0.1 + launched today 0.3 + new to the user 0.2.
    assert [s.item.id for s in ranked] == ["boots", "novel", "fresh-novel"]
    assert ranked[0].parts["novelty"] == 0.0
    assert ranked[1].parts["popularity"] == pytest.approx(0.4)
    assert ranked[2].parts["recency"] == pytest.approx(0.3)


def test_item_rules_filter_by_field_and_refuse_nonsense() -> None:
    item = Item(
        "a", "shoes", 2, NOW - 3 * DAY, {"category": "shoes", "price": 59.0, "tags": ["trail"], "brand": "X"}
    )
    rule = parse_item_rule(
        {
            "all": [
                {"field": "category", "op": "=", "value": "shoes"},
                {"field": "price", "op": "<", "value": 60},
            ]
        }
    )
    assert rule(item, NOW)
    assert parse_item_rule({"field": "tags", "op": "contains", "value": "trail"})(item, NOW)
    assert parse_item_rule({"field": "launched_days", "op": "<=", "value": 7})(item, NOW)
    assert not parse_item_rule({"not": {"field": "brand", "op": "in", "value": ["X", "Y"]}})(item, NOW)
    with pytest.raises(ItemRuleInvalid) as bad:
        parse_item_rule({"any": [{"field": "price", "op": "<", "value": "cheap"}]})
    assert bad.value.path == "pick.from.any[0].value"


@given(
    ITEMS,
    st.dictionaries(st.sampled_from(["shoes", "books", "tea"]), st.floats(min_value=-1, max_value=1)),
    st.dictionaries(
        st.text(alphabet="abcdefghij", min_size=1, max_size=4), st.floats(min_value=0, max_value=50)
    ),
    st.sets(st.text(alphabet="abcdefghij", min_size=1, max_size=4)),
    st.sets(st.text(alphabet="abcdefghij", min_size=1, max_size=4)),
)
def test_the_index_finds_the_item_rank_puts_first(items, interests, popularity, pushed, seen) -> None:
    ranked = rank(
        items, interests=interests, popularity=popularity, pushed=pushed, seen=seen, now=NOW, limit=50
    )
    found = best_pick(build_index(items, popularity, NOW), interests=interests, pushed=pushed, seen=seen)
    if not ranked:
        assert found is None
        return
    assert found is not None
    score_of = {s.item.id: s.score for s in ranked}
    assert score_of[found.id] == pytest.approx(ranked[0].score, abs=1e-9)

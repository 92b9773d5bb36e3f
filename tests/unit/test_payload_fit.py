"""The API's cheap payload bound never lets through what a provider would refuse."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pushwise.domain.notification import NotificationSpec
from pushwise.domain.payload_fit import _too_large_for, oversize_problem, surely_fits

# Text that escapes badly: quotes, backslashes, control and non-ASCII characters.
nasty_text = st.text(alphabet=st.sampled_from('a"\\\n\té漢😀\x01'), max_size=400)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | nasty_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(nasty_text, children, max_size=4),
    max_leaves=12,
)


@st.composite
def specs(draw: st.DrawFn) -> NotificationSpec:
    raw: dict[str, Any] = {
        "content": {
            "title": draw(nasty_text),
            "body": draw(nasty_text),
            "data": draw(st.dictionaries(st.text("abc", min_size=1, max_size=8), json_values, max_size=4)),
        }
    }
    return NotificationSpec.from_dict(raw)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(specs())
def test_the_bound_only_passes_what_every_provider_takes(spec: NotificationSpec) -> None:
    if surely_fits(spec):
        assert _too_large_for(spec) is None


def test_a_short_message_skips_rendering_and_a_huge_data_block_is_refused() -> None:
    short = NotificationSpec.from_dict({"content": {"title": "Order shipped", "body": "On its way"}})
    assert surely_fits(short)
    assert oversize_problem(short) is None
    huge = NotificationSpec.from_dict({"content": {"title": "x", "data": {"blob": "y" * 5000}}})
    assert not surely_fits(huge)
    problem = oversize_problem(huge)
    assert problem is not None
    assert problem.startswith("APNs")

"""Templates: the sandbox holds, rendering is bounded, locales fall back, filters speak the user's locale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushwise.domain.content.locales import best_locale, candidates
from pushwise.domain.content.templates import (
    RenderingFailed,
    TemplateInvalid,
    compile_template,
    render,
    template_context,
)

USER = {"external_id": "u1", "attributes": {"first_name": "Ana", "plan": "gold"}, "locale": "de-DE"}


def one(source: str, **context: object) -> str:
    template = compile_template("t", 1, {"locales": {"en": {"title": source}}})
    merged = {"user": USER, "locale": "en", "timezone": "UTC", **context}
    rendered = render(
        template,
        None,
        "en",
        template_context(
            user=merged["user"],  # type: ignore[arg-type]
            locale=str(merged["locale"]),
            timezone=str(merged["timezone"]),
            item=merged.get("item"),  # type: ignore[arg-type]
            variables=merged.get("variables"),  # type: ignore[arg-type]
        ),
    )
    return rendered.get("title", "")


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ user.__class__ }}",
        "{{ cycler.__init__.__globals__.os.system('id') }}",
        "{{ self._TemplateReference__context }}",
        "{{ (user.attributes).update({'plan': 'free'}) }}{{ user.attributes.plan }}",
    ],
)
def test_the_sandbox_gives_no_way_out(escape: str) -> None:
    try:
        rendered = one(escape)
    except (RenderingFailed, TemplateInvalid):
        return
    assert "class" not in rendered
    assert "free" not in rendered
    assert "uid=" not in rendered


def test_rendering_is_bounded_in_size_and_range() -> None:
    with pytest.raises(RenderingFailed, match="longer than"):
        one("{% for i in range(1000) %}{% for j in range(1000) %}xxxxxxxx{% endfor %}{% endfor %}")
    with pytest.raises(RenderingFailed, match="range"):
        one("{% for i in range(10**9) %}{% endfor %}")
    with pytest.raises(TemplateInvalid, match="nest"):
        one("{% for a in range(2) %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}")


@pytest.mark.parametrize(
    ("source", "variables", "says"),
    [
        ("{{ variables.n ** variables.n }}", {"n": 300_000}, "digits"),
        ("{{ variables.n * variables.n }}", {"n": 10**2000}, "digits"),
        ("{{ 'x' * variables.n }}", {"n": 10**9}, "repeated value"),
        ("{% set a = 'xxxxxxxx' %}" + "{% set a = a ~ a %}" * 40, {}, "joined string"),
        ("{% set a = 'xxxxxxxx' %}" + "{% set a = a + a %}" * 40, {}, "a sum"),
        ("{{ 'a' | center(variables.n) }}", {"n": 10**9}, "center"),
        ("{{ 'a' | indent(variables.n, true) }}", {"n": 10**9}, "indent"),
        ("{{ [1] | batch(variables.n, 0) | list }}", {"n": 10**9}, "batch"),
        ("{{ range(1000) | join('x' * 200000) }}", {}, "join"),
        ("{% set a = 'a' * 100 %}{{ a | replace('a', a) | replace('a', a) }}", {}, "replace"),
        ("{{ '%0999999999d' | format(1) }}", {}, "formatted field"),
        ("{{ '%0999999999d' % variables.n }}", {"n": 1}, "formatted field"),
        ("{{ '{:>999999999}'.format(1) }}", {}, "formatted field"),
        ("{{ '{:>{w}}'.format(1, w=10**9) }}", {}, "nested field"),
    ],
)
def test_growing_operations_are_refused_before_the_work(source: str, variables: dict, says: str) -> None:
    """Each would take seconds or gigabytes; the bounded sandbox refuses it without computing it."""
    with pytest.raises(RenderingFailed, match=says):
        one(source, variables=variables)


def test_bounded_operations_still_compute_what_messages_need() -> None:
    rendered = one(
        "{{ 2 ** 10 }} {{ variables.price * 3 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ 'a' ~ 1 }}"
        " {{ '%05.1f' % variables.price }} {{ 'x' | center(5) }}|{{ range(3) | join(',') }}"
        " {{ '{:>4}'.format(7) }} {{ 10 ** -1 }} {{ 2.5 ** 2 }}",
        variables={"price": 1.5},
    )
    assert rendered == "1024 4.5 abab [1, 2] a1 001.5   x  |0,1,2    7 0.1 6.25"


@pytest.mark.parametrize(
    "source", ["{{ 7 ** 200000 }}", "{{ (7 ** 2) ** 200000 }}", "{{ -('x' * 10**9) }}", "{{ 10 ** 5000 }}"]
)
def test_constant_expressions_past_the_bounds_are_refused_when_saved(source: str) -> None:
    """Jinja2 would fold these while compiling (and fail with a bare ValueError): refused naming the part."""
    with pytest.raises(TemplateInvalid) as refused:
        compile_template("t", 1, {"locales": {"en": {"title": "x", "body": source}}})
    assert refused.value.path == "locales.en.body"
    assert "templates allow" in refused.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "1+" * 20000 + "1 }}",  # flat to read, a node per `+` to the tree walkers
        "{{ " + "variables.a*" * 5000 + "1 }}",
    ],
)
def test_expressions_nested_past_the_bounded_depth_are_refused(source: str) -> None:
    """Refused when saved, not a RecursionError (a 500) in the checks or the compiler."""
    with pytest.raises(TemplateInvalid, match="nest too deeply"):
        compile_template("t", 1, {"locales": {"en": {"title": source}}})


@pytest.mark.parametrize(
    ("definition", "path", "says"),
    [
        ({"locales": {"en": {"title": "Hi {{ user.name"}}}, "locales.en.title", "syntax error on line 1"),
        (
            {"locales": {"en": {"title": "Hi {{ customer }}"}}},
            "locales.en.title",
            "unknown variable 'customer'",
        ),
        ({"locales": {"en": {"title": "{{ 3 | shout }}"}}}, "locales.en.title", "unknown filter"),
        ({"locales": {"en": {"colour": "x"}}}, "locales.en.colour", "not a template part"),
        ({"locales": {}}, "locales", "at least one locale"),
        ({"locales": {"en": {"url": "https://x"}}}, "locales.en", "title or a body"),
        (
            {"locales": {"en": {"title": "x"}}, "variants": [{"key": "holdout", "locales": {}}]},
            "variants[0].key",
            "holdout",
        ),
    ],
)
def test_bad_templates_are_refused_naming_the_part(definition, path, says) -> None:
    with pytest.raises(TemplateInvalid) as refused:
        compile_template("t", 1, definition)
    assert refused.value.path == path
    assert says in refused.value.message


def test_variables_and_undefined_values() -> None:
    greeting = "Hi {{ user.attributes.first_name }}{{ user.attributes.nickname }}, {{ variables.n }} new"
    assert one(greeting, variables={"n": 3}) == "Hi Ana, 3 new"
    assert one("{% set x = 2 %}{{ x * 2 }}{% for i in range(2) %}{{ loop.index }}{% endfor %}") == "412"


def test_filters_follow_the_users_locale_and_zone() -> None:
    assert one("{{ 59.5 | money('EUR') }}", locale="de-DE") == "59,50\xa0€"
    assert one("{{ 59.5 | money('EUR') }}", locale="en") == "€59.50"
    assert one("{{ 3 | plural('товар', 'товаров', few='товара') }}", locale="ru") == "товара"
    assert one("{{ 3 | plural('item', 'items') }}", locale="en") == "items"
    # 23:30 UTC on 31 December is already 1 January in Shanghai.
    assert one("{{ '2026-12-31T23:30:00Z' | date('yyyy-MM-dd') }}", timezone="Asia/Shanghai") == "2027-01-01"
    assert (
        one("{{ '2026-12-31T23:30:00Z' | date('yyyy-MM-dd') }}", timezone="America/New_York") == "2026-12-31"
    )


@pytest.mark.parametrize(
    ("available", "wanted", "chosen"),
    [
        (["en", "zh", "zh-Hant"], "zh-Hant-TW", "zh-Hant"),
        (["en", "zh"], "zh_hant_tw", "zh"),
        (["de", "en"], "fr-CA", "en"),
        (["de", "fr"], "ja", "de"),
        (["pt-BR", "pt"], "pt-br", "pt-BR"),
        (["en"], None, "en"),
    ],
)
def test_locale_fallback(available, wanted, chosen) -> None:
    assert best_locale(available, wanted) == chosen


@given(
    st.lists(st.from_regex(r"[a-z]{2}(-[A-Za-z]{2,4}){0,2}", fullmatch=True), min_size=1),
    st.text(max_size=20),
)
def test_best_locale_is_always_one_of_the_templates(available, wanted) -> None:
    assert best_locale(available, wanted) in available
    assert all(len(c) <= len(wanted) for c in candidates(wanted))


def test_variants_override_their_parts_and_keep_the_rest() -> None:
    template = compile_template(
        "t",
        1,
        {
            "locales": {
                "en": {"title": "Sale", "body": "Up to 50% off"},
                "de": {"title": "Sale", "body": "Bis zu 50%"},
            },
            "variants": [{"key": "urgent", "locales": {"en": {"title": "Last day!"}}}],
        },
    )
    context = template_context(user=USER, locale="en", timezone=None)
    assert render(template, "urgent", "en", context) == {"title": "Last day!", "body": "Up to 50% off"}
    assert render(template, "urgent", "de", context)["body"] == "Bis zu 50%"
    assert template.user_paths() == frozenset()


def test_what_a_template_reads_of_the_user_is_known() -> None:
    template = compile_template(
        "t", 1, {"locales": {"en": {"title": "{{ user.attributes.first_name }} {{ user['country'] }}"}}}
    )
    assert template.user_paths() == {("attributes", "first_name"), ("country",)}
    whole = compile_template("t", 1, {"locales": {"en": {"title": "{{ user | length }}"}}})
    assert whole.user_paths() is None

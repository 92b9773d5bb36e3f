"""The failure notice's wording per cause: a dead token versus notifications turned off."""

from __future__ import annotations

import pytest

from pushwise.domain.failure_notice import (
    DEFAULT_TEMPLATES,
    BadTemplate,
    NoticeCause,
    NoticeTemplate,
    check_template,
    notice_cause,
    render_notice,
)
from pushwise.domain.push_permission import PERMISSION_DENIED, shown_permission

DENIED = NoticeCause.PERMISSION_DENIED
DEAD = NoticeCause.TOKEN_DEAD


def test_a_device_turned_off_in_the_settings_picks_the_settings_advice() -> None:
    assert notice_cause(permission_denied=True) is DENIED
    assert notice_cause(permission_denied=False) is DEAD


def test_the_built_in_text_explains_the_settings_for_a_permission_turned_off() -> None:
    denied = render_notice("shop", "en-GB", cause=DENIED)
    assert denied.title == "Notifications from shop are turned off"
    assert "turned off in your device's settings" in (denied.body or "")
    assert "Settings > Notifications > shop" in (denied.body or "")
    assert denied.data == {"pushwise": "failure_notice", "cause": "permission_denied"}

    dead = render_notice("shop", "en-GB")
    assert dead.title == "You may be missing messages from shop"
    assert dead.data == {"pushwise": "failure_notice", "cause": "token_dead"}


@pytest.mark.parametrize("locale", sorted(DEFAULT_TEMPLATES))
def test_every_built_in_locale_has_both_wordings_and_they_differ(locale: str) -> None:
    denied = render_notice("shop", locale, cause=DENIED)
    dead = render_notice("shop", locale, cause=DEAD)
    assert "shop" in (denied.title or "")
    assert denied.title != dead.title
    assert denied.body != dead.body


def test_an_app_template_without_a_variant_serves_both_causes() -> None:
    own = {"de": NoticeTemplate("Hallo {{ user_id }}", "{{ app_name }} erreicht Sie nicht.")}
    for cause in NoticeCause:
        notice = render_notice("shop", "de-AT", own, user_id="ann", cause=cause)
        assert (notice.title, notice.body) == ("Hallo ann", "shop erreicht Sie nicht.")
    # Locales the app left out use the built-in text of the cause.
    assert render_notice("shop", "fr", own, cause=DENIED).title == (
        "Les notifications de shop sont désactivées"
    )


def test_an_app_variant_is_used_for_the_permission_cause_only() -> None:
    own = {"en": NoticeTemplate("Lost you", "Open {{ app_name }}.", NoticeTemplate("Muted", "Unmute."))}
    assert render_notice("shop", "en", own, cause=DENIED).title == "Muted"
    assert render_notice("shop", "en", own, cause=DEAD).title == "Lost you"


def test_a_variant_failing_at_send_time_gives_way_to_the_built_in_text_of_its_cause() -> None:
    broken = NoticeTemplate("{% if locale == 'en-AU' %}{{ nope }}{% endif %}Muted", "b")
    own = {"en": NoticeTemplate("Lost you", "b", broken)}
    assert render_notice("shop", "en-AU", own, cause=DENIED).title == "Notifications from shop are turned off"
    assert render_notice("shop", "en-US", own, cause=DENIED).title == "Muted"


def test_a_bad_variant_is_refused_with_its_path() -> None:
    bad = NoticeTemplate("fine", "fine", NoticeTemplate("fine", "{{ nope }}"))
    with pytest.raises(BadTemplate) as refused:
        check_template(bad, "en")
    assert refused.value.part == "permission_denied.body"
    costly = NoticeTemplate("fine", "fine", NoticeTemplate("{% for x in 'ab' %}{% endfor %}", "b"))
    with pytest.raises(BadTemplate) as refused:
        check_template(costly, "en")
    assert refused.value.part == "permission_denied.title"


def test_the_permission_shown_follows_the_device_state() -> None:
    assert shown_permission(active=True, deactivated_reason=None) == "granted"
    assert shown_permission(active=False, deactivated_reason=PERMISSION_DENIED) == "denied"
    assert shown_permission(active=False, deactivated_reason="Unregistered") is None

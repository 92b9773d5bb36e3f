"""`/v1/apps/{app_id}/failure-notice`: set, show and remove an app's failure-notice templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from pushwise.api.audit import Audit
from pushwise.api.deps import ManagedApp, ServicesDep
from pushwise.api.errors import ApiError, not_found
from pushwise.api.schemas.common import at
from pushwise.api.schemas.failure_notice import (
    FailureNoticeIn,
    FailureNoticeOut,
    NoticeAnswersOut,
    NoticeTextIn,
    NoticeTextOut,
    NoticeWordsOut,
)
from pushwise.domain.failure_notice import (
    DEFAULT_TEMPLATES,
    BadTemplate,
    NoticeTemplate,
    check_template,
    normal_locale,
)
from pushwise.store.notice_answers import NoticeAnswers
from pushwise.store.notices import VARIANT_LOCALE_MAX, AppNoticeTemplates, NoticeTemplates

router = APIRouter(prefix="/v1/apps/{app_id}/failure-notice", tags=["failure notice"])


async def _templates(services: ServicesDep) -> NoticeTemplates:
    return NoticeTemplates(services.db)


Templates = Annotated[NoticeTemplates, Depends(_templates)]


def _text_out(template: NoticeTemplate) -> NoticeTextOut:
    variant = template.permission_denied
    return NoticeTextOut(
        title=template.title,
        body=template.body,
        permission_denied=NoticeWordsOut(title=variant.title, body=variant.body) if variant else None,
    )


def _template(text: NoticeTextIn) -> NoticeTemplate:
    variant = text.permission_denied
    return NoticeTemplate(
        text.title, text.body, NoticeTemplate(variant.title, variant.body) if variant else None
    )


def _out(stored: AppNoticeTemplates) -> FailureNoticeOut:
    return FailureNoticeOut(
        templates={locale: _text_out(t) for locale, t in sorted(stored.templates.items())},
        builtin_locales=sorted(DEFAULT_TEMPLATES),
        updated_at=at(stored.updated_at),
    )


def _checked(body: FailureNoticeIn) -> dict[str, NoticeTemplate]:
    """Templates by normalised locale, each one compiled and tried out before it is stored."""
    checked: dict[str, NoticeTemplate] = {}
    for given, text in body.templates.items():
        locale = normal_locale(given)
        if locale in checked:
            raise ApiError(422, "duplicate_locale", f"locale {given!r} is given twice", f"templates.{given}")
        template = _template(text)
        if template.permission_denied is not None and len(locale) > VARIANT_LOCALE_MAX:
            raise ApiError(
                422,
                "locale_too_long",
                f"a permission_denied variant needs a locale of at most {VARIANT_LOCALE_MAX} characters",
                f"templates.{given}.permission_denied",
            )
        try:
            check_template(template, locale)
        except BadTemplate as error:
            raise ApiError(422, "invalid_template", str(error), f"templates.{given}.{error.part}") from error
        checked[locale] = template
    return checked


# A locale without a variant answers as it did before variants existed: no `permission_denied: null`.
@router.put("", response_model_exclude_none=True)
async def put_failure_notice(
    body: FailureNoticeIn, app: ManagedApp, services: ServicesDep, templates: Templates, audit: Audit
) -> FailureNoticeOut:
    checked = _checked(body)
    now = services.clock.now()
    await templates.put(app.id, checked, now)
    await audit.record("failure_notice.configure", app.id)
    return _out(AppNoticeTemplates(checked, now))


@router.get("", response_model_exclude_none=True)
async def get_failure_notice(app: ManagedApp, templates: Templates) -> FailureNoticeOut:
    stored = await templates.of_app(app.id)
    if stored is None:
        raise not_found("failure notice templates")
    return _out(stored)


@router.delete("", status_code=204)
async def delete_failure_notice(app: ManagedApp, templates: Templates, audit: Audit) -> None:
    if not await templates.delete(app.id):
        raise not_found("failure notice templates")
    await audit.record("failure_notice.remove", app.id)


@router.get("/answers")
async def get_failure_notice_answers(app: ManagedApp, services: ServicesDep) -> NoticeAnswersOut:
    """How the app's users answered the notice's "why did you turn notifications off?"."""
    counts = await NoticeAnswers(services.db, services.clock).counts(app.id)
    return NoticeAnswersOut(answers=counts, total=sum(counts.values()))

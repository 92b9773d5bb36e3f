"""The words of the failure notice: why a user is missing messages and how to turn them back on.

Templates are Jinja2 in a sandbox (an app's own templates must never run code),
one per locale with English as the default; the app's name is filled in. A locale
such as `de-AT` uses `de` when there is no exact match.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2.sandbox import SandboxedEnvironment

from pushwise.domain.notification import Content


@dataclass(frozen=True, slots=True)
class NoticeTemplate:
    title: str
    body: str


DEFAULT_TEMPLATES: dict[str, NoticeTemplate] = {
    "en": NoticeTemplate(
        "You may be missing messages from {{ app_name }}",
        "We could not reach your phone or browser with notifications, so you may have missed "
        "some updates. To get them again, open {{ app_name }} and allow notifications "
        "(on your phone: Settings > Notifications > {{ app_name }}; in a browser: the site's "
        "notification permission). Until then, your messages wait here.",
    ),
    "de": NoticeTemplate(
        "Ihnen entgehen vielleicht Nachrichten von {{ app_name }}",
        "Wir konnten Ihr Telefon oder Ihren Browser nicht mit Mitteilungen erreichen. Öffnen Sie "
        "{{ app_name }} und erlauben Sie Mitteilungen (Telefon: Einstellungen > Mitteilungen > "
        "{{ app_name }}; Browser: Benachrichtigungen für die Website erlauben). Bis dahin "
        "warten Ihre Nachrichten hier.",
    ),
    "fr": NoticeTemplate(
        "Vous manquez peut-être des messages de {{ app_name }}",
        "Nous n'avons pas pu joindre votre téléphone ou votre navigateur par notification. Ouvrez "
        "{{ app_name }} et autorisez les notifications (téléphone : Réglages > Notifications > "
        "{{ app_name }} ; navigateur : autorisation de notifications du site). En attendant, vos "
        "messages vous attendent ici.",
    ),
    "zh": NoticeTemplate(
        "您可能错过了 {{ app_name }} 的消息",
        "我们无法通过通知联系到您的手机或浏览器。请打开 {{ app_name }} 并允许通知"
        "（手机：设置 > 通知 > {{ app_name }}；浏览器：允许该网站的通知）。在此之前，您的消息会保存在这里。",  # noqa: RUF001 - Chinese punctuation
    ),
}

_SANDBOX = SandboxedEnvironment(autoescape=False)


def template_for(locale: str | None, templates: dict[str, NoticeTemplate]) -> NoticeTemplate:
    if locale:
        wanted = locale.replace("_", "-").lower()
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in templates:
                return templates[candidate]
    return templates["en"]


def render_notice(
    app_name: str, locale: str | None, templates: dict[str, NoticeTemplate] | None = None
) -> Content:
    template = template_for(locale, templates or DEFAULT_TEMPLATES)
    context = {"app_name": app_name}
    return Content(
        title=_SANDBOX.from_string(template.title).render(context),
        body=_SANDBOX.from_string(template.body).render(context),
        data={"pushwise": "failure_notice"},
    )

"""The words of the failure notice: why a user is missing messages and how to turn them back on.

Templates are Jinja2 in a sandbox (an app's own templates must never run code),
one per locale with English as the default; the app's name, the user's id and
locale are filled in. A locale such as `de-AT` uses `de` when there is no exact
match. An app may replace the text for any locale (`check_template` vets it when
it is stored); the built-in text covers the locales it leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import StrictUndefined, TemplateError, nodes
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

# A notice is a few sentences: templates have no need for loops, macros, arithmetic or
# string formatting, and refusing them (with large numbers: `'x'|center(10**9)`, and
# widths hidden in format strings: `'{:>999999999}'.format(x)`) keeps an app's template
# from spending the worker's time or memory.
_REFUSED_NODES = (
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Import,
    nodes.FromImport,
    nodes.Include,
    nodes.Extends,
    nodes.Mul,
    nodes.Pow,
    nodes.Mod,
)
_REFUSED_NAMES = frozenset({"format", "format_map", "attr"})
_LARGEST_NUMBER = 1000

_SANDBOX = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


class BadTemplate(ValueError):
    """An app's template that cannot be stored; `part` is "title" or "body"."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


def normal_locale(locale: str) -> str:
    """`de_AT` and `de-AT` are the same locale: stored and looked up as `de-at`."""
    return locale.replace("_", "-").lower()


def check_template(template: NoticeTemplate, locale: str) -> None:
    """Refuse what would fail or misbehave at send time: syntax, unknown variables, costly constructs."""
    sample = {"app_name": "Shop", "user_id": "user-1", "locale": locale}
    for part, source in (("title", template.title), ("body", template.body)):
        try:
            tree = _SANDBOX.parse(source)
        except TemplateError as error:
            raise BadTemplate(part, _described(error)) from error
        _refuse_costly(tree, part)
        try:
            _SANDBOX.from_string(source).render(sample)
        except Exception as error:  # an app's expression can raise anything: `{{ app_name + 1 }}`
            raise BadTemplate(part, _described(error)) from error


def _refuse_costly(tree: nodes.Template, part: str) -> None:
    refused = next(iter(tree.find_all(_REFUSED_NODES)), None)
    if refused is not None:
        raise BadTemplate(part, f"{type(refused).__name__} is not allowed in notice templates")
    names = {n.attr for n in tree.find_all(nodes.Getattr)} | {n.name for n in tree.find_all(nodes.Filter)}
    names |= {str(n.arg.value) for n in tree.find_all(nodes.Getitem) if isinstance(n.arg, nodes.Const)}
    if names & _REFUSED_NAMES:
        raise BadTemplate(part, f"{min(names & _REFUSED_NAMES)} is not allowed in notice templates")
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, int) and abs(const.value) > _LARGEST_NUMBER:
            raise BadTemplate(part, f"numbers above {_LARGEST_NUMBER} are not allowed")


def _described(error: Exception) -> str:
    detail = error.message if isinstance(error, TemplateError) and error.message else str(error)
    return f"{type(error).__name__}: {detail}"


def template_for(locale: str | None, templates: Mapping[str, NoticeTemplate]) -> NoticeTemplate:
    if locale:
        wanted = normal_locale(locale)
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in templates:
                return templates[candidate]
    return templates["en"]


def render_notice(
    app_name: str,
    locale: str | None,
    app_templates: Mapping[str, NoticeTemplate] | None = None,
    *,
    user_id: str = "",
) -> Content:
    """The notice in the user's locale: the app's template when it has one, else the built-in text.

    An app's template that still fails here (it passed `check_template`, but a branch
    it took at send time did not) gives way to the built-in text: the notice must go out.
    """
    context = {"app_name": app_name, "user_id": user_id, "locale": locale or ""}
    template = template_for(locale, {**DEFAULT_TEMPLATES, **(app_templates or {})})
    try:
        title, body = _render(template, context)
    except Exception:  # whatever an app's expression raised, the built-in text cannot
        title, body = _render(template_for(locale, DEFAULT_TEMPLATES), context)
    return Content(title=title, body=body, data={"pushwise": "failure_notice"})


def _render(template: NoticeTemplate, context: dict[str, str]) -> tuple[str, str]:
    return (
        _SANDBOX.from_string(template.title).render(context),
        _SANDBOX.from_string(template.body).render(context),
    )

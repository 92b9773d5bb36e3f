"""The words of the failure notice: why a user is missing messages and how to turn them back on.

Templates are Jinja2 in a sandbox (an app's own templates must never run code),
one per locale with English as the default; the app's name, the user's id and
locale are filled in. A locale such as `de-AT` uses `de` when there is no exact
match. An app may replace the text for any locale (`check_template` vets it when
it is stored); the built-in text covers the locales it leaves out.

Two causes need different advice: a dead token (the app was removed, or the
browser dropped the subscription) is fixed by opening the app and allowing
notifications again, while a permission the user turned off is fixed in the
device's settings, and saying "open the app" would not help. A template may carry
a variant for the permission cause; one without it says the same for both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from pushwise.domain.notification import Content


class NoticeCause(StrEnum):
    """Why push no longer reaches the user; it picks the notice's wording."""

    TOKEN_DEAD = "token_dead"  # noqa: S105 - a cause, not a secret
    PERMISSION_DENIED = "permission_denied"


def notice_cause(*, permission_denied: bool) -> NoticeCause:
    """A user with any device whose notifications were turned off hears how to turn them on in the
    settings: that device comes back without a reinstall, so it is the advice that helps most."""
    return NoticeCause.PERMISSION_DENIED if permission_denied else NoticeCause.TOKEN_DEAD


@dataclass(frozen=True, slots=True)
class NoticeTemplate:
    title: str
    body: str
    permission_denied: NoticeTemplate | None = None  # the words when notifications were turned off

    def for_cause(self, cause: NoticeCause) -> NoticeTemplate:
        if cause is NoticeCause.PERMISSION_DENIED and self.permission_denied is not None:
            return self.permission_denied
        return self

    def parts(self) -> Iterator[tuple[str, str]]:
        """(name, source) of every text, named as the API's fields under the locale."""
        yield "title", self.title
        yield "body", self.body
        if self.permission_denied is not None:
            yield "permission_denied.title", self.permission_denied.title
            yield "permission_denied.body", self.permission_denied.body


DEFAULT_TEMPLATES: dict[str, NoticeTemplate] = {
    "en": NoticeTemplate(
        "You may be missing messages from {{ app_name }}",
        "We could not reach your phone or browser with notifications, so you may have missed "
        "some updates. To get them again, open {{ app_name }} and allow notifications "
        "(on your phone: Settings > Notifications > {{ app_name }}; in a browser: the site's "
        "notification permission). Until then, your messages wait here.",
        NoticeTemplate(
            "Notifications from {{ app_name }} are turned off",
            "Notifications for {{ app_name }} are turned off in your device's settings, so you "
            "may have missed some updates. To turn them back on: on an iPhone, open Settings > "
            "Notifications > {{ app_name }} and switch on Allow Notifications; on Android, open "
            "Settings > Apps > {{ app_name }} > Notifications; in a browser, click the icon "
            "next to the address and allow notifications for this site. Until then, your "
            "messages wait here.",
        ),
    ),
    "de": NoticeTemplate(
        "Ihnen entgehen vielleicht Nachrichten von {{ app_name }}",
        "Wir konnten Ihr Telefon oder Ihren Browser nicht mit Mitteilungen erreichen. Öffnen Sie "
        "{{ app_name }} und erlauben Sie Mitteilungen (Telefon: Einstellungen > Mitteilungen > "
        "{{ app_name }}; Browser: Benachrichtigungen für die Website erlauben). Bis dahin "
        "warten Ihre Nachrichten hier.",
        NoticeTemplate(
            "Mitteilungen von {{ app_name }} sind ausgeschaltet",
            "Mitteilungen für {{ app_name }} sind in den Einstellungen Ihres Geräts ausgeschaltet, "
            "daher entgehen Ihnen vielleicht Neuigkeiten. So schalten Sie sie wieder ein: iPhone: "
            "Einstellungen > Mitteilungen > {{ app_name }} > Mitteilungen erlauben; Android: "
            "Einstellungen > Apps > {{ app_name }} > Benachrichtigungen; Browser: auf das Symbol "
            "neben der Adresse klicken und Benachrichtigungen für die Website erlauben. Bis dahin "
            "warten Ihre Nachrichten hier.",
        ),
    ),
    "fr": NoticeTemplate(
        "Vous manquez peut-être des messages de {{ app_name }}",
        "Nous n'avons pas pu joindre votre téléphone ou votre navigateur par notification. Ouvrez "
        "{{ app_name }} et autorisez les notifications (téléphone : Réglages > Notifications > "
        "{{ app_name }} ; navigateur : autorisation de notifications du site). En attendant, vos "
        "messages vous attendent ici.",
        NoticeTemplate(
            "Les notifications de {{ app_name }} sont désactivées",
            "Les notifications de {{ app_name }} sont désactivées dans les réglages de votre "
            "appareil : vous avez peut-être manqué des nouvelles. Pour les réactiver : sur iPhone, "
            "Réglages > Notifications > {{ app_name }} > Autoriser les notifications ; sur Android, "
            "Paramètres > Applications > {{ app_name }} > Notifications ; dans un navigateur, "
            "cliquez sur l'icône à côté de l'adresse et autorisez les notifications du site. En "
            "attendant, vos messages vous attendent ici.",
        ),
    ),
    "zh": NoticeTemplate(
        "您可能错过了 {{ app_name }} 的消息",
        "我们无法通过通知联系到您的手机或浏览器。请打开 {{ app_name }} 并允许通知"
        "（手机：设置 > 通知 > {{ app_name }}；浏览器：允许该网站的通知）。在此之前，您的消息会保存在这里。",  # noqa: RUF001 - Chinese punctuation
        NoticeTemplate(
            "{{ app_name }} 的通知已关闭",
            "{{ app_name }} 的通知已在您设备的设置中关闭，您可能错过了一些消息。重新开启方法："  # noqa: RUF001 - Chinese punctuation
            "iPhone：设置 > 通知 > {{ app_name }} > 允许通知；Android：设置 > 应用 > {{ app_name }} > 通知；"  # noqa: RUF001 - Chinese punctuation
            "浏览器：点击地址栏旁的图标，允许该网站的通知。在此之前，您的消息会保存在这里。",  # noqa: RUF001 - Chinese punctuation
        ),
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
    for part, source in template.parts():
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
    cause: NoticeCause = NoticeCause.TOKEN_DEAD,
) -> Content:
    """The notice in the user's locale and for its cause: the app's template when it has one for
    the locale (its cause variant, else its one text), else the built-in text.

    An app's template that still fails here (it passed `check_template`, but a branch
    it took at send time did not) gives way to the built-in text: the notice must go out.
    """
    context = {"app_name": app_name, "user_id": user_id, "locale": locale or ""}
    template = template_for(locale, {**DEFAULT_TEMPLATES, **(app_templates or {})}).for_cause(cause)
    try:
        title, body = _render(template, context)
    except Exception:  # whatever an app's expression raised, the built-in text cannot
        title, body = _render(template_for(locale, DEFAULT_TEMPLATES).for_cause(cause), context)
    return Content(title=title, body=body, data={"pushwise": "failure_notice", "cause": cause.value})


def _render(template: NoticeTemplate, context: dict[str, str]) -> tuple[str, str]:
    return (
        _SANDBOX.from_string(template.title).render(context),
        _SANDBOX.from_string(template.body).render(context),
    )

"""The words of the hosted pages, in the languages the failure notices speak (en, de, fr, zh).

A page speaks the user's stored locale, else the browser's first language we know, else
English; `de-AT` uses `de`, `zh-Hant-TW` uses `zh`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pushwise.domain.failure_notice import normal_locale


@dataclass(frozen=True, slots=True)
class PageWords:
    lang: str
    title: str
    intro: str  # {app}
    topics: str
    channels: str
    channels_hint: str
    always: str
    quiet_hours: str
    quiet_hint: str
    start: str
    end: str
    save: str
    saved: str
    unsubscribe_email: str
    unsubscribe_email_hint: str
    nothing_yet: str
    both_times: str
    stale_form: str
    invalid_link: str
    channel_names: dict[str, str] = field(default_factory=dict)

    def channel(self, name: str) -> str:
        return self.channel_names.get(name, name.capitalize() if name.islower() else name)


_BRANDS = {"huawei": "Huawei", "honor": "Honor", "xiaomi": "Xiaomi", "oppo": "OPPO", "vivo": "vivo"}

WORDS: dict[str, PageWords] = {
    "en": PageWords(
        lang="en",
        title="Notification preferences",
        intro="Choose what {app} may send you, and how.",
        topics="Topics",
        channels="Channels",
        channels_hint="Switch a channel off to receive nothing through it.",
        always="Messages you need, such as order confirmations, still reach you.",
        quiet_hours="Quiet hours",
        quiet_hint="No notifications between these times (your local time). Leave both empty for none.",
        start="From",
        end="Until",
        save="Save",
        saved="Your preferences are saved.",
        unsubscribe_email="Unsubscribe from all e-mail",
        unsubscribe_email_hint="One click, and {app} sends you no more e-mail.",
        nothing_yet="There is nothing to choose yet.",
        both_times="Give both times, or leave both empty.",
        stale_form="This page was open too long, or your browser blocks cookies. Reload it and try again.",
        invalid_link="This link is no longer valid. Open the app or the latest message to get a new one.",
        channel_names={
            "apns": "iPhone and iPad",
            "fcm": "Android",
            "webpush": "Browser",
            "email": "E-mail",
            "inbox": "In the app",
            "webhook": "Webhook",
            **_BRANDS,
        },
    ),
    "de": PageWords(
        lang="de",
        title="Benachrichtigungseinstellungen",
        intro="Wählen Sie, was {app} Ihnen senden darf und auf welchem Weg.",
        topics="Themen",
        channels="Kanäle",
        channels_hint="Schalten Sie einen Kanal aus, um darüber nichts mehr zu erhalten.",
        always="Nachrichten, die Sie brauchen, etwa Bestellbestätigungen, erhalten Sie weiterhin.",
        quiet_hours="Ruhezeiten",
        quiet_hint="Keine Mitteilungen zwischen diesen Uhrzeiten (Ihre Ortszeit). Beide leer lassen "
        "für keine.",
        start="Von",
        end="Bis",
        save="Speichern",
        saved="Ihre Einstellungen sind gespeichert.",
        unsubscribe_email="Alle E-Mails abbestellen",
        unsubscribe_email_hint="Ein Klick, und {app} sendet Ihnen keine E-Mails mehr.",
        nothing_yet="Hier gibt es noch nichts auszuwählen.",
        both_times="Geben Sie beide Uhrzeiten an oder lassen Sie beide leer.",
        stale_form="Die Seite war zu lange geöffnet oder Ihr Browser blockiert Cookies. Laden Sie sie neu "
        "und versuchen Sie es noch einmal.",
        invalid_link="Dieser Link ist nicht mehr gültig. Öffnen Sie die App oder die neueste Nachricht, "
        "um einen neuen zu erhalten.",
        channel_names={
            "apns": "iPhone und iPad",
            "fcm": "Android",
            "webpush": "Browser",
            "email": "E-Mail",
            "inbox": "In der App",
            "webhook": "Webhook",
            **_BRANDS,
        },
    ),
    "fr": PageWords(
        lang="fr",
        title="Préférences de notification",
        intro="Choisissez ce que {app} peut vous envoyer, et par quel moyen.",
        topics="Sujets",
        channels="Canaux",
        channels_hint="Désactivez un canal pour ne plus rien recevoir par ce biais.",
        always="Les messages dont vous avez besoin, comme les confirmations de commande, vous parviennent "
        "toujours.",
        quiet_hours="Heures calmes",
        quiet_hint="Aucune notification entre ces heures (heure locale). Laissez les deux vides pour aucune.",
        start="De",
        end="À",
        save="Enregistrer",
        saved="Vos préférences sont enregistrées.",
        unsubscribe_email="Se désabonner de tous les e-mails",
        unsubscribe_email_hint="Un clic, et {app} ne vous envoie plus d'e-mails.",
        nothing_yet="Il n'y a encore rien à choisir.",
        both_times="Indiquez les deux heures, ou laissez les deux vides.",
        stale_form="La page est restée ouverte trop longtemps, ou votre navigateur bloque les cookies. "
        "Rechargez-la et réessayez.",
        invalid_link="Ce lien n'est plus valable. Ouvrez l'application ou le dernier message pour en obtenir "
        "un nouveau.",
        channel_names={
            "apns": "iPhone et iPad",
            "fcm": "Android",
            "webpush": "Navigateur",
            "email": "E-mail",
            "inbox": "Dans l'application",
            "webhook": "Webhook",
            **_BRANDS,
        },
    ),
    "zh": PageWords(
        lang="zh",
        title="通知偏好设置",
        intro="选择 {app} 可以向您发送哪些内容，以及通过什么方式发送。",  # noqa: RUF001 - Chinese punctuation
        topics="主题",
        channels="渠道",
        channels_hint="关闭某个渠道后，您将不会再通过它收到任何消息。",  # noqa: RUF001 - Chinese punctuation
        always="您需要的消息（例如订单确认）仍会送达。",  # noqa: RUF001 - Chinese punctuation
        quiet_hours="免打扰时段",
        quiet_hint="在这段时间内（您的当地时间）不发送通知。两项都留空表示不设置。",  # noqa: RUF001 - Chinese punctuation
        start="从",
        end="到",
        save="保存",
        saved="您的偏好设置已保存。",
        unsubscribe_email="退订所有电子邮件",
        unsubscribe_email_hint="只需点击一次，{app} 将不再向您发送电子邮件。",  # noqa: RUF001 - Chinese punctuation
        nothing_yet="目前还没有可选择的内容。",
        both_times="请填写两个时间，或两项都留空。",  # noqa: RUF001 - Chinese punctuation
        stale_form="页面打开时间过长，或您的浏览器阻止了 Cookie。请刷新页面后重试。",  # noqa: RUF001 - Chinese punctuation
        invalid_link="此链接已失效。请打开应用或最新消息以获取新链接。",
        channel_names={
            "apns": "iPhone 和 iPad",
            "fcm": "安卓",
            "webpush": "浏览器",
            "email": "电子邮件",
            "inbox": "应用内",
            "webhook": "Webhook",
            **_BRANDS,
        },
    ),
}


def language_for(stored: str | None, accept_language: str | None) -> str:
    """The language of a page: the user's own locale, else the browser's, else English."""
    for candidate in (stored, *_accepted(accept_language or "")):
        if candidate:
            wanted = normal_locale(candidate)
            for option in (wanted, wanted.split("-")[0]):
                if option in WORDS:
                    return option
    return "en"


def words_for(stored: str | None, accept_language: str | None) -> PageWords:
    return WORDS[language_for(stored, accept_language)]


def _accepted(header: str) -> Iterable[str]:
    """`de-CH,de;q=0.9,en;q=0.8` -> de-CH, de, en (in the browser's order of preference)."""
    ranked = []
    for position, part in enumerate(header.split(",")[:10]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]

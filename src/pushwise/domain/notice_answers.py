"""The failure notice's question, "why did you turn notifications off?", and its one-tap answers.

The answers are few and fixed, so they can be counted per app and compared across apps; their
words follow the user's language like the notice itself (en, de, fr, zh; English otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pushwise.domain.failure_notice import normal_locale

ANSWERS: tuple[str, ...] = ("too_many", "not_relevant", "wrong_time", "other")


@dataclass(frozen=True, slots=True)
class AnswerWords:
    question: str
    thanks: str
    answers: Mapping[str, str]


WORDS: dict[str, AnswerWords] = {
    "en": AnswerWords(
        "Why did you turn notifications off?",
        "Thank you: we will take it into account.",
        {
            "too_many": "Too many notifications",
            "not_relevant": "Not interesting to me",
            "wrong_time": "They came at the wrong time",
            "other": "Another reason",
        },
    ),
    "de": AnswerWords(
        "Warum haben Sie die Mitteilungen ausgeschaltet?",
        "Danke: Wir berücksichtigen das.",
        {
            "too_many": "Zu viele Mitteilungen",
            "not_relevant": "Für mich nicht interessant",
            "wrong_time": "Sie kamen zur falschen Zeit",
            "other": "Ein anderer Grund",
        },
    ),
    "fr": AnswerWords(
        "Pourquoi avez-vous désactivé les notifications ?",
        "Merci : nous en tiendrons compte.",
        {
            "too_many": "Trop de notifications",
            "not_relevant": "Sans intérêt pour moi",
            "wrong_time": "Elles arrivaient au mauvais moment",
            "other": "Une autre raison",
        },
    ),
    "zh": AnswerWords(
        "您为什么关闭了通知？",  # noqa: RUF001 - Chinese punctuation
        "谢谢！我们会认真考虑。",  # noqa: RUF001 - Chinese punctuation
        {
            "too_many": "通知太多",
            "not_relevant": "内容与我无关",
            "wrong_time": "发送时间不合适",
            "other": "其他原因",
        },
    ),
}


def answer_words(locale: str | None) -> AnswerWords:
    if locale:
        wanted = normal_locale(locale)
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in WORDS:
                return WORDS[candidate]
    return WORDS["en"]


def answer_offer(locale: str | None, url: str) -> dict[str, Any]:
    """What the notice's `data` carries so an app can show the question with a button per answer:
    a tap posts `{"answer": key}` to `url` (or opens `url`, a page with the same buttons)."""
    words = answer_words(locale)
    return {
        "question": words.question,
        "url": url,
        "answers": [{"key": key, "label": words.answers[key]} for key in ANSWERS],
    }

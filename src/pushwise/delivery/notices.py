"""Telling users once that push no longer reaches them, as an outcome listener.

When a delivery's token dies, or the client reports that the user turned
notifications off, and the user has no active device left, the user gets a
friendly notice through the inbox (or e-mail): why they are missing messages and
how to turn notifications back on, in the app's own words when it gave some for
the user's locale, and with the advice that fits the cause. At most one per user
per period. The notice also asks why notifications went off, with one-tap answers
(`pushwise.domain.notice_answers`) that are counted per app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, replace

from pushwise.delivery.worker import Recorded
from pushwise.domain.clock import Clock
from pushwise.domain.failure_notice import notice_cause, render_notice
from pushwise.domain.notice_answers import answer_offer
from pushwise.domain.notification import Content, NotificationSpec
from pushwise.store.notices import NoticeRepository, NoticeTemplates, Unreachable

log = logging.getLogger(__name__)

WEEK = 7 * 24 * 3600.0

AnswerLink = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class NoticePolicy:
    channel: str = "inbox"  # or "email"
    period_seconds: float = WEEK


class FailureNotices:
    def __init__(
        self,
        notices: NoticeRepository,
        templates: NoticeTemplates,
        clock: Clock,
        policy: NoticePolicy | None = None,
        *,
        on_planned: Callable[[], None] | None = None,
        answer_link: AnswerLink | None = None,
    ) -> None:
        """`on_planned` runs after notices were planned (the engine wakes its workers to send them);
        `answer_link(app_id, user_id)` gives the link the notice's one-tap answer goes to."""
        self._notices = notices
        self._templates = templates
        self._clock = clock
        self.policy = policy or NoticePolicy()
        self._on_planned = on_planned
        self._answer_link = answer_link

    async def recorded(self, batch: Sequence[Recorded]) -> None:
        await self.notify(batch)

    async def notify(self, batch: Sequence[Recorded]) -> list[str]:
        """Returns the ids of the notices planned (empty when everyone was told recently)."""
        lost: dict[str, set[str]] = {}
        for item in batch:
            if item.update.device_to_deactivate and item.claimed.user_id is not None:
                lost.setdefault(item.claimed.app_id, set()).add(item.claimed.user_id)
        return await self.tell(lost)

    async def tell(self, lost: Mapping[str, Set[str]]) -> list[str]:
        """Notify those of `lost` ({app id: user ids}) left without an active device, once per period."""
        planned = []
        for app_id, user_ids in sorted(lost.items()):
            unreachable = await self._notices.unreachable(app_id, sorted(user_ids))
            if not unreachable:
                continue
            own = await self._templates.of_app(app_id)
            for user in unreachable:
                content = render_notice(
                    user.app_name,
                    user.locale,
                    own.templates if own else None,
                    user_id=user.external_id,
                    cause=notice_cause(permission_denied=user.permission_denied),
                )
                if self._answer_link is not None:
                    content = _with_answers(content, user, self._answer_link(user.app_id, user.user_id))
                spec = NotificationSpec(content, priority="transactional")
                notice = await self._notices.send_once(
                    user, spec.to_dict(), self.policy.channel, self._clock.now(), self.policy.period_seconds
                )
                if notice is not None:
                    planned.append(notice)
        if planned and self._on_planned is not None:
            self._on_planned()
        return planned

    async def turned_off(self, app_id: str, user_ids: Set[str]) -> list[str]:
        """After a device update committed that turned notifications off for `user_ids`.

        The update stands whatever happens here: a notice that cannot be planned now is
        caught up by the follow-up sweep, so the error is logged, not raised.
        """
        if not user_ids:
            return []
        try:
            return await self.tell({app_id: user_ids})
        except Exception:
            log.exception("failure notice after a permission turned off failed; the sweep will retry")
            return []


def _with_answers(content: Content, user: Unreachable, link: str) -> Content:
    """The notice asks why notifications went off: one tap answers (counted per app). Its link
    opens a page with the same question when the app shows no buttons of its own."""
    data = {**content.data, "answer": answer_offer(user.locale, link)}
    return replace(content, data=data, url=content.url or link)

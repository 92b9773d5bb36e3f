"""The inbox channel: "sending" is writing the item into the user's in-app inbox.

It needs no credentials, so it is built once per app without stored settings.
A write that this delivery already made (a retry after a lost lease) counts as
delivered, not as a second item.
"""

from __future__ import annotations

from pushwise.domain.outcomes import Outcome, delivered, local_rejection
from pushwise.providers.base import Dispatch
from pushwise.store.inbox import InboxRepository, NewInboxItem
from pushwise.store.inbox_feed import InboxFeed


class InboxProvider:
    channel = "inbox"

    def __init__(self, items: InboxRepository, feed: InboxFeed) -> None:
        self._items = items
        self._feed = feed

    async def send(self, dispatch: Dispatch) -> Outcome:
        if dispatch.user_id is None:
            return local_rejection("NoUser")
        content = dispatch.spec.content
        stored = await self._items.add(
            NewInboxItem(
                app_id=dispatch.app_id,
                user_id=dispatch.user_id,
                notification_id=dispatch.notification_id,
                delivery_id=dispatch.delivery_id,
                title=content.title,
                body=content.body,
                data=dict(content.data),
                url=content.url,
            )
        )
        if stored is None:
            return delivered()
        self._feed.publish(dispatch.app_id, dispatch.user_id)
        return delivered(provider_message_id=str(stored.id))

    async def close(self) -> None:
        """Nothing pooled: the repository shares the engine's database."""


def build_inbox_provider(items: InboxRepository, feed: InboxFeed) -> InboxProvider:
    return InboxProvider(items, feed)

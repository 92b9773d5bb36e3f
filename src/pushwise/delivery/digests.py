"""The words of a digest: what its carrier says instead of its own notification.

With a `template` in the app's digest rule, that template (`PUT /v1/templates/{key}`)
is rendered for the carrier's user, in their locale, with `variables.count`,
`variables.items` (each part's `title` and `body`, the carrier's own first) and
`variables.category`: "3 new arrivals from brands you follow". Without one, or when it
cannot render, the built-in words: "<n> new notifications" over the parts' titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pushwise.delivery.render import Renderer
from pushwise.domain.content.templates import RenderingFailed
from pushwise.domain.gate.policy import DigestRule
from pushwise.domain.notification import NotificationSpec
from pushwise.store.gate_ledger import PartText
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.templates import TemplateRepository

LISTED = 5  # titles the built-in body names before "and N more"


def built_in_words(items: Sequence[PartText]) -> tuple[str, str]:
    titles = [item.title or item.body or "" for item in items]
    named = " · ".join(title for title in titles[:LISTED] if title)
    more = len(titles) - LISTED
    return f"{len(items)} new notifications", named + (f" and {more} more" if more > 0 else "")


class DigestWriter:
    def __init__(self, templates: TemplateRepository, renderer: Renderer) -> None:
        self._templates = templates
        self._renderer = renderer

    async def content(
        self,
        item: ClaimedDelivery,
        spec: NotificationSpec,
        own: PartText,
        parts: Sequence[PartText],
        rule: DigestRule | None,
    ) -> NotificationSpec:
        items = [own, *parts]
        title, body = built_in_words(items)
        if rule is not None and rule.template is not None and item.user_id is not None:
            rendered = await self._render(item, spec, rule, items)
            if rendered is not None:
                title, body = rendered.get("title", title), rendered.get("body", body)
        content = replace(spec.content, title=title, body=body, subtitle=None)
        return replace(spec, content=content, template=None, email={}, collapse_key=None)

    async def _render(
        self, item: ClaimedDelivery, spec: NotificationSpec, rule: DigestRule, items: Sequence[PartText]
    ) -> dict[str, str] | None:
        key = rule.template or ""
        stored = await self._templates.current(item.app_id, key)
        if stored is None:
            return None
        compiled = (await self._templates.compiled(item.app_id, [(key, stored.version)]))[
            (key, stored.version)
        ]
        variables: dict[str, Any] = {
            "count": len(items),
            "items": [{"title": part.title, "body": part.body} for part in items],
            "category": rule.category or spec.category,
        }
        try:
            _locale, parts = await self._renderer.preview(
                compiled,
                item.user_id or "",
                channel=item.channel,
                variant=None,
                locale=None,
                variables=variables,
                data=spec.content.data,
            )
        except (RenderingFailed, KeyError):  # a user erased meanwhile, or a part too long
            return None
        return parts

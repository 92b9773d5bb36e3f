"""Personal content: templated notifications rendered per user, a batch at a time.

The worker hands over each claimed batch; for the deliveries of templated
notifications this reads, in one query each, the users (and their devices'
locales, and interests when a template reads them), renders each user's parts in
their locale and zone, and returns one spec per delivery. Renderings are memoised
by what they depend on (notification, channel, variant, locale and the values of
the user fields the template reads), so a campaign whose text names nobody renders
once per locale, and the providers, which cache by spec, encode each distinct text
once. Plain notifications cost nothing here.

A template that fails for one user (too long, a sandbox violation) sends the
notification's fallback content when it has some, else fails that delivery with
reason `TemplateRenderFailed`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection, select

from pushwise.delivery.choices import Choice, Choices
from pushwise.domain.audience.decay import Decayed
from pushwise.domain.audience.interests import affinity
from pushwise.domain.audience.learning import LearningOptions
from pushwise.domain.campaigns.calendar import day_for, matched
from pushwise.domain.clock import Clock
from pushwise.domain.content.picks import ScoredItem
from pushwise.domain.content.templates import (
    CompiledTemplate,
    RenderingFailed,
    render,
    template_context,
)
from pushwise.domain.notification import NotificationSpec
from pushwise.store.campaigns import journey_events
from pushwise.store.db import Database
from pushwise.store.personal import record_shown
from pushwise.store.queue import ClaimedDelivery
from pushwise.store.schema import devices, user_interests, users
from pushwise.store.templates import TemplateRepository

RENDER_FAILED = "TemplateRenderFailed"
NO_ITEM = "NoItemToPick"
_PUSH = ("title", "subtitle", "body", "url", "image")
_INBOX = ("inbox.title", "inbox.body", "title", "body", "url", "image")
_EMAIL = ("email.subject", "email.html", "email.text", "title", "body", "url", "image")


@dataclass(frozen=True, slots=True)
class Unrenderable:
    reason: str = RENDER_FAILED


Personal = NotificationSpec | Unrenderable


@dataclass(frozen=True, slots=True)
class UserView:
    """What templates may read of a user (API.md "Template context")."""

    external_id: str
    attributes: Mapping[str, Any]
    locale: str | None
    timezone: str | None
    country: str | None
    interests: Mapping[str, float]

    def as_context(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "attributes": dict(self.attributes),
            "locale": self.locale,
            "timezone": self.timezone,
            "country": self.country,
            "interests": dict(self.interests),
        }


class Renderer:
    def __init__(
        self,
        db: Database,
        templates: TemplateRepository,
        choices: Choices,
        learning: LearningOptions,
        clock: Clock,
        *,
        memo_size: int = 50_000,
    ) -> None:
        self._db = db
        self._choices = choices
        self._templates = templates
        self._learning = learning
        self._clock = clock
        self._memo_size = memo_size
        self._memo: OrderedDict[tuple[Any, ...], Personal] = OrderedDict()

    async def personalise(
        self, claimed: Sequence[ClaimedDelivery], specs: Mapping[str, NotificationSpec]
    ) -> dict[int, Personal]:
        templated = [item for item in claimed if (spec := specs.get(item.notification_id)) and spec.template]
        if not templated:
            return {}
        wanted: dict[str, set[tuple[str, int]]] = {}
        for item in templated:
            spec = specs[item.notification_id]
            wanted.setdefault(item.app_id, set()).add((spec.template or "", spec.template_version or 0))
        compiled: dict[tuple[str, str, int], CompiledTemplate] = {}
        for app_id, keys in wanted.items():
            found = await self._templates.compiled(app_id, sorted(keys))
            compiled.update({(app_id, key, version): each for (key, version), each in found.items()})
        by_delivery = {
            item.id: template
            for item in templated
            if (template := compiled.get(_template_key(item, specs[item.notification_id]))) is not None
        }
        needs_interests = any(specs[item.notification_id].pick for item in templated) or any(
            (paths := each.user_paths()) is None or any(path[:1] == ("interests",) for path in paths)
            for each in compiled.values()
        )
        user_ids = sorted({item.user_id for item in templated if item.user_id})
        device_ids = sorted({item.device_id for item in templated if item.device_id})
        views, device_locales = await self._read(user_ids, device_ids, needs_interests)
        journeys = sorted(
            {
                specs[i.notification_id].campaign_id or ""
                for i in templated
                if by_delivery.get(i.id, _NO).uses("event")
            }
            - {""}
        )
        events = (
            await self._db.query(lambda conn: journey_events(conn, journeys, user_ids)) if journeys else {}
        )
        batch = await self._choices.prepare(templated, specs, by_delivery)
        seasonal = await self._calendar_templates(templated, specs)
        personal: dict[int, Personal] = {}
        shown: list[tuple[int, str, str | None, str | None]] = []
        for item in templated:
            spec = specs[item.notification_id]
            template = by_delivery.get(item.id)
            view = views.get(item.user_id or "")
            if template is None or view is None:
                personal[item.id] = _fallback(spec)
                continue
            template = seasonal.get(_calendar_template(spec, item, view, self._clock.now()), template)
            choice = batch.choose(item, spec, template, view.interests)
            if choice.no_item:
                personal[item.id] = _fallback(spec, NO_ITEM)
                continue
            locale_wanted = device_locales.get(item.device_id or "") or view.locale
            event = events.get((spec.campaign_id or "", item.user_id or ""), {})
            personal[item.id] = self._rendered(item, spec, template, view, locale_wanted, choice, event)
            if choice.variant is not None or choice.item is not None:
                shown.append((item.id, template.key, choice.variant, choice.item.id if choice.item else None))
        if shown:
            await self._db.transact(lambda conn: record_shown(conn, shown))
        return personal

    async def _calendar_templates(
        self, items: Sequence[ClaimedDelivery], specs: Mapping[str, NotificationSpec]
    ) -> dict[str, CompiledTemplate]:
        """The current versions of the templates calendar rules may switch to, by key."""
        wanted = {
            (item.app_id, str(rule["then"]["template"]))
            for item in items
            for rule in specs[item.notification_id].calendar
            if "template" in rule["then"]
        }
        found: dict[str, CompiledTemplate] = {}
        for app_id, key in sorted(wanted):
            stored = await self._templates.current(app_id, key)
            if stored is not None:
                compiled = await self._templates.compiled(app_id, [(key, stored.version)])
                found[key] = compiled[(key, stored.version)]
        return found

    async def picks_for(self, app_id: str, user_id: str, now: float) -> list[ScoredItem]:
        views, _ = await self._read([user_id], [], True)
        view = views.get(user_id)
        return await self._choices.for_user(app_id, user_id, view.interests if view else {}, now)

    async def preview(
        self,
        template: CompiledTemplate,
        user_id: str,
        *,
        channel: str,
        variant: str | None,
        locale: str | None,
        variables: Mapping[str, Any],
        data: Mapping[str, Any],
    ) -> tuple[str, dict[str, str]]:
        """What `user_id` would get: the locale chosen and the rendered parts (`RenderingFailed` raises).

        The same reads and rendering as a send, so a preview is what is sent.
        """
        views, _ = await self._read([user_id], [], True)
        view = views[user_id]
        chosen = template.locale_for(variant, locale or view.locale)
        context = template_context(
            user=view.as_context(), locale=chosen, timezone=view.timezone, data=data, variables=variables
        )
        return chosen, render(template, variant, chosen, context, _PARTS[_kind(channel)])

    async def _read(
        self, user_ids: Sequence[str], device_ids: Sequence[str], with_interests: bool
    ) -> tuple[dict[str, UserView], dict[str, str]]:
        now = self._clock.now()
        return await self._db.query(
            lambda conn: _read_users(conn, user_ids, device_ids, with_interests, self._learning, now)
        )

    def _rendered(
        self,
        item: ClaimedDelivery,
        spec: NotificationSpec,
        template: CompiledTemplate,
        view: UserView,
        locale_wanted: str | None,
        choice: Choice,
        event: Mapping[str, Any],
    ) -> Personal:
        variant = choice.variant
        locale = template.locale_for(variant, locale_wanted)
        timezone = item.timezone or view.timezone
        kind = _kind(item.channel)
        picked = choice.item.id if choice.item is not None else None
        key = (
            item.notification_id,
            template.key,
            template.version,
            kind,
            variant,
            picked,
            locale,
            timezone,
            _reads(template, view),
            orjson.dumps(event, option=orjson.OPT_SORT_KEYS) if event else b"",
        )
        memoised = self._memo.get(key)
        if memoised is not None:
            self._memo.move_to_end(key)
            return memoised
        context = template_context(
            user=view.as_context(),
            locale=locale,
            timezone=timezone,
            item=choice.item.fields if choice.item is not None else None,
            event=event,
            data=spec.content.data,
            variables=spec.variables,
        )
        try:
            parts = render(template, variant, locale, context, _PARTS[kind])
        except RenderingFailed:
            result = _fallback(spec)
        else:
            result = _personal_spec(spec, kind, parts)
        self._memo[key] = result
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return result


_PARTS = {"push": _PUSH, "inbox": _INBOX, "email": _EMAIL}
_NO = CompiledTemplate("", 0, {}, {})  # stands for "no template" where a template is asked what it uses


def _kind(channel: str) -> str:
    """Which parts a channel shows: e-mail's, the inbox's, or a push's (webhooks get a push's)."""
    return channel if channel in ("email", "inbox") else "push"


def _reads(template: CompiledTemplate, view: UserView) -> bytes:
    """The values of the user fields the template reads: what its rendering depends on."""
    paths = template.user_paths()
    context = view.as_context()
    if paths is None:
        return orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
    values = []
    for path in sorted(paths):
        value: Any = context
        for step in path:
            value = value.get(step) if isinstance(value, Mapping) else None
        values.append(value)
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def _personal_spec(spec: NotificationSpec, kind: str, parts: Mapping[str, str]) -> NotificationSpec:
    if kind == "inbox":
        title = parts.get("inbox.title", parts.get("title"))
        body = parts.get("inbox.body", parts.get("body"))
    else:
        title, body = parts.get("title"), parts.get("body")
    content = replace(
        spec.content,
        title=title,
        body=body,
        subtitle=parts.get("subtitle"),
        url=parts.get("url", spec.content.url),
        image=parts.get("image", spec.content.image),
    )
    email = {name.split(".", 1)[1]: text for name, text in parts.items() if name.startswith("email.")}
    return replace(spec, content=content, email=email)


def _fallback(spec: NotificationSpec, reason: str = RENDER_FAILED) -> Personal:
    if spec.fallback.content is not None:
        return replace(spec, content=spec.fallback.content)
    return Unrenderable(reason)


def _calendar_template(spec: NotificationSpec, item: ClaimedDelivery, view: UserView, now: float) -> str:
    """The template a calendar rule switches to on the user's local day ("" for none)."""
    if not spec.calendar:
        return ""
    found = matched(spec.calendar, day_for(now, item.timezone or view.timezone, view.country))
    return str(found[1].get("template", "")) if found is not None else ""


def _template_key(item: ClaimedDelivery, spec: NotificationSpec) -> tuple[str, str, int]:
    return (item.app_id, spec.template or "", spec.template_version or 0)


def _read_users(
    conn: Connection,
    user_ids: Sequence[str],
    device_ids: Sequence[str],
    with_interests: bool,
    learning: LearningOptions,
    now: float,
) -> tuple[dict[str, UserView], dict[str, str]]:
    interests: dict[str, dict[str, float]] = {}
    if with_interests and user_ids:
        for row in conn.execute(
            select(
                user_interests.c.user_id,
                user_interests.c.category,
                user_interests.c.weight,
                user_interests.c.at,
            ).where(user_interests.c.user_id.in_(user_ids))
        ):
            raw = Decayed(row.weight, row.at).worth(now, learning.interest_half_life)
            interests.setdefault(row.user_id, {})[row.category] = affinity(raw)
    views = {
        row.id: UserView(
            row.external_id,
            row.attributes or {},
            row.locale,
            row.timezone,
            row.country,
            interests.get(row.id, {}),
        )
        for row in conn.execute(
            select(
                users.c.id,
                users.c.external_id,
                users.c.attributes,
                users.c.locale,
                users.c.timezone,
                users.c.country,
            ).where(users.c.id.in_(user_ids))
        )
    }
    locales = {
        row.id: row.locale
        for row in conn.execute(select(devices.c.id, devices.c.locale).where(devices.c.id.in_(device_ids)))
        if row.locale
    }
    return views, locales

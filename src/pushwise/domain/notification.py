"""A notification as the engine sees it, after the API has validated the request.

Stored as JSON beside the notification row and rebuilt once per notification in
the dispatcher (not once per delivery), so this stays a plain frozen value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

# The data keys through which a device learns which push it got (docs/api.md, "Events"):
# every channel carries the notification's id; Web Push, rendered per delivery, the delivery's too.
NOTIFICATION_ID_KEY = "pushwise_notification_id"
DELIVERY_ID_KEY = "pushwise_delivery_id"


@dataclass(frozen=True, slots=True)
class Content:
    title: str | None = None
    body: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    image: str | None = None
    sound: str | None = None
    badge: int | None = None
    subtitle: str | None = None

    def stamped(self, notification_id: str) -> Content:
        return replace(self, data={**self.data, NOTIFICATION_ID_KEY: notification_id})


@dataclass(frozen=True, slots=True)
class ApnsOptions:
    push_type: str = "alert"
    priority: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fallback:
    content: Content | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotificationSpec:
    content: Content
    apns: ApnsOptions = field(default_factory=ApnsOptions)
    fcm: dict[str, Any] = field(default_factory=dict)
    webpush: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    priority: str = "normal"
    ttl_seconds: int | None = None
    collapse_key: str | None = None
    fallback: Fallback = field(default_factory=Fallback)
    # "HH:MM" in each recipient's own time zone, instead of one instant for everyone.
    send_local_time: str | None = None
    # A template instead of fixed content: rendered per user at send time, with the version
    # the notification was accepted with (`delivery/render.py`).
    template: str | None = None
    template_version: int | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    # {"mode": "ab" | "learn" | "uplift", "goal", "holdout_percent", "model"}: which template variant
    # each user gets (`uplift`: the one the model picks).
    variants: dict[str, Any] = field(default_factory=dict)
    # {"strategy": "for_you", "from": item rule}: a catalogue item chosen per user for the template.
    pick: dict[str, Any] = field(default_factory=dict)
    # Holiday, season and shop-day rules, applied in each user's own country and zone
    # (`domain/campaigns/calendar.py`).
    calendar: tuple[dict[str, Any], ...] = ()
    # The campaign that made it (analytics, and variants that learn across a campaign's sends).
    campaign_id: str | None = None
    # E-mail parts a template rendered (subject, html, text); empty: the built-in layout.
    email: dict[str, str] = field(default_factory=dict)
    # The gate (issue 11): what a cap does with it, send-time optimisation over this many
    # hours, a throttled rollout, a holdout.
    on_cap: str = "defer"
    optimize_within_hours: float | None = None
    rate_per_minute: float | None = None
    holdout_percent: float = 0.0
    # Targeting by uplift (issue 18): {"model", "cost_per_send"}; users the model would not send
    # to are suppressed (`domain/gate/uplift.py`).
    uplift: dict[str, Any] = field(default_factory=dict)

    @property
    def uplift_model(self) -> str | None:
        """The model that decides who gets it (`uplift`, or variants in mode `uplift`); never for
        transactional messages."""
        if self.priority == "transactional":
            return None
        model = self.uplift.get("model")
        if model is None and self.variants.get("mode") == "uplift":
            model = self.variants.get("model")
        return str(model) if model else None

    def stamped(self, notification_id: str) -> NotificationSpec:
        """The spec with its notification's id in the data a device receives (`NOTIFICATION_ID_KEY`),
        so an app can name the push when it reports opens and clicks without any lookup."""
        fallback = self.fallback
        if fallback.content is not None:
            fallback = replace(fallback, content=fallback.content.stamped(notification_id))
        return replace(self, content=self.content.stamped(notification_id), fallback=fallback)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; nested dicts are shared, not copied (`dataclasses.asdict`
        deep-copies them, which cost more than the rest of an accept)."""
        return _plain(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NotificationSpec:
        fallback_raw = raw.get("fallback") or {}
        fallback_content = fallback_raw.get("content")
        return cls(
            content=Content(**(raw.get("content") or {})),
            apns=ApnsOptions(**(raw.get("apns") or {})),
            fcm=dict(raw.get("fcm") or {}),
            webpush=dict(raw.get("webpush") or {}),
            category=raw.get("category"),
            priority=raw.get("priority") or "normal",
            ttl_seconds=raw.get("ttl_seconds"),
            collapse_key=raw.get("collapse_key"),
            send_local_time=raw.get("send_local_time"),
            template=raw.get("template"),
            template_version=raw.get("template_version"),
            variables=dict(raw.get("variables") or {}),
            variants=dict(raw.get("variants") or {}),
            pick=dict(raw.get("pick") or {}),
            campaign_id=raw.get("campaign_id"),
            calendar=tuple(raw.get("calendar") or ()),
            email=dict(raw.get("email") or {}),
            on_cap=raw.get("on_cap") or "defer",
            optimize_within_hours=raw.get("optimize_within_hours"),
            rate_per_minute=raw.get("rate_per_minute"),
            holdout_percent=raw.get("holdout_percent") or 0.0,
            uplift=dict(raw.get("uplift") or {}),
            fallback=Fallback(
                content=Content(**fallback_content) if fallback_content else None,
                channels=tuple(fallback_raw.get("channels") or ()),
            ),
        )


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    return value

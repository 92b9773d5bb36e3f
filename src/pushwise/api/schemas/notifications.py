"""Request and response shapes of `/v1/notifications` (API.md, Notifications)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from pushwise.api.schemas.feedback import Feedback
from pushwise.domain.apns_message import MAX_COLLAPSE_ID_BYTES, PUSH_TYPES
from pushwise.domain.campaigns.calendar import CalendarInvalid, check_rules
from pushwise.domain.content.item_rules import ItemRuleInvalid, parse_item_rule
from pushwise.domain.gate.uplift import DEFAULT_HOLDOUT_PERCENT

MAX_TARGETS = 10_000
MAX_TTL_SECONDS = 2_419_200  # the longest any provider keeps a message (FCM: 28 days)
FALLBACK_CHANNELS = ("inbox", "email", "apns", "fcm", "webpush", "webhook")

ShortText = Annotated[str, Field(max_length=4096)]
Identifier = Annotated[str, Field(min_length=1, max_length=255)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentTargetIn(Strict):
    """A saved segment (`id`) or a rule given here (`rule`), not both."""

    id: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    rule: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SegmentTargetIn:
        if (self.id is None) == (self.rule is None):
            raise ValueError('give a saved segment\'s "id" or a "rule", not both')
        return self


class TargetIn(Strict):
    user_ids: list[Identifier] = Field(default_factory=list, max_length=MAX_TARGETS)
    device_ids: list[Identifier] = Field(default_factory=list, max_length=MAX_TARGETS)
    segment: SegmentTargetIn | None = None
    all: bool = False

    @model_validator(mode="after")
    def _has_audience(self) -> TargetIn:
        if not (self.user_ids or self.device_ids or self.all or self.segment):
            raise ValueError("name at least one recipient: user_ids, device_ids, segment or all=true")
        return self


class ContentIn(Strict):
    title: ShortText | None = None
    subtitle: ShortText | None = None
    body: ShortText | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    url: Annotated[str, Field(max_length=2048)] | None = None
    image: Annotated[str, Field(max_length=2048)] | None = None
    sound: Annotated[str, Field(max_length=256)] | None = None
    badge: Annotated[int, Field(ge=0, le=999_999)] | None = None

    @field_validator("data")
    @classmethod
    def _data_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "aps" in value:
            raise ValueError("'aps' is reserved by APNs; put APNs fields in apns.payload")
        return value


class ApnsIn(Strict):
    push_type: str = "alert"
    priority: Literal[1, 5, 10] | None = None
    headers: dict[str, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict)
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("push_type")
    @classmethod
    def _known_push_type(cls, value: str) -> str:
        if value not in PUSH_TYPES:
            raise ValueError(f"unknown APNs push type; use one of {', '.join(sorted(PUSH_TYPES))}")
        return value

    @field_validator("headers")
    @classmethod
    def _apns_headers_only(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not name.lower().startswith("apns-") or name.lower() == "apns-topic":
                raise ValueError(f"header {name!r} is not an APNs request header pushwise lets you set")
        return value


class LocalTime(Strict):
    local_time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class OptimizedTime(Strict):
    """Send-time optimisation: each user's best hour within `within_hours` of acceptance (the gate)."""

    optimize: Literal[True]
    within_hours: Annotated[float, Field(gt=0, le=168)] = 24.0


class FallbackIn(Strict):
    content: ContentIn | None = None
    channels: list[Literal["inbox", "email", "apns", "fcm", "webpush", "webhook"]] = Field(
        default_factory=list, max_length=len(FALLBACK_CHANNELS)
    )

    @field_validator("channels")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("name each fallback channel once, in the order to try them")
        return value


TemplateKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


ModelId = Annotated[str, Field(min_length=1, max_length=40)]


class VariantsIn(Strict):
    mode: Literal["ab", "learn", "uplift"] = "ab"
    goal: Literal["opened", "clicked", "converted"] = "opened"
    holdout_percent: Annotated[float, Field(ge=0, le=50)] = 0.0
    model: ModelId | None = Field(
        default=None, description='With mode "uplift": the uplift model that picks each user\'s variant.'
    )

    @model_validator(mode="after")
    def _model_with_uplift(self) -> VariantsIn:
        if (self.mode == "uplift") != (self.model is not None):
            raise ValueError('mode "uplift" names its "model", and only that mode does')
        return self


class UpliftIn(Strict):
    """Targeting by uplift: only users the model expects to be moved by more than the cost."""

    model: ModelId
    cost_per_send: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        default=None, description="In the model's goal units; the model's own cost when left out."
    )


class PickIn(Strict):
    strategy: Literal["for_you"] = "for_you"
    from_: dict[str, Any] | None = Field(default=None, alias="from", description="A rule over items.")

    @field_validator("from_")
    @classmethod
    def _parses(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                parse_item_rule(value, "from")
            except ItemRuleInvalid as invalid:
                raise ValueError(str(invalid)) from invalid
        return value


class NotificationIn(Strict):
    to: TargetIn
    content: ContentIn | None = None
    template: TemplateKey | None = Field(
        default=None,
        description="A template (`PUT /v1/templates/{key}`) rendered per user instead of `content`.",
    )
    variables: dict[str, Any] = Field(
        default_factory=dict, description="What the template sees as `variables`."
    )
    data: dict[str, Any] | None = Field(
        default=None,
        description="With `template`: the custom data sent with the push (`content.data` otherwise).",
    )
    variants: VariantsIn | None = Field(
        default=None, description="With `template`: which variant each user gets."
    )
    pick: PickIn | None = Field(
        default=None, description="With `template`: a catalogue item chosen per user."
    )
    calendar: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=50,
        description="Holiday, season and shop-day rules in each user's country and zone (docs/campaigns.md).",
    )
    apns: ApnsIn = Field(default_factory=ApnsIn)
    fcm: dict[str, Any] = Field(default_factory=dict)
    webpush: dict[str, Any] = Field(default_factory=dict)
    category: Annotated[str, Field(max_length=64)] | None = None
    priority: Literal["transactional", "normal", "low"] = Field(
        default="normal",
        description="transactional is never capped, digested or delayed by fatigue; low and normal "
        "may go out in a digest (the policy's `digest.max_priority`).",
    )
    ttl_seconds: Annotated[int, Field(ge=0, le=MAX_TTL_SECONDS)] | None = None
    collapse_key: str | None = None
    send_at: AwareDatetime | LocalTime | OptimizedTime | None = None
    fallback: FallbackIn = Field(default_factory=FallbackIn)
    on_cap: Literal["defer", "suppress"] = Field(
        default="defer", description="Over a cap, the gap or the fatigue budget: wait for room, or drop it."
    )
    rate_per_minute: Annotated[float, Field(gt=0, le=10_000_000)] | None = Field(
        default=None, description="Throttled rollout: at most this many deliveries per minute."
    )
    holdout_percent: Annotated[float, Field(ge=0, le=100)] = Field(
        default=0.0,
        description="A share of users recorded as `held_out` and not sent, to compare later "
        "(5 by default when an uplift model targets the send).",
    )
    uplift: UpliftIn | None = Field(
        default=None, description="Send only to the users an uplift model expects to be moved (API.md)."
    )

    @property
    def uplift_model(self) -> str | None:
        """The model that targets this send, by `uplift` or by variants in mode `uplift`."""
        if self.uplift is not None:
            return self.uplift.model
        return self.variants.model if self.variants is not None else None

    def effective_holdout(self) -> float:
        """The holdout: as given (top level, else `variants.holdout_percent`, the A/B/n test's
        holdout group); for a send targeted by a model, 5% unless one was given."""
        if "holdout_percent" in self.model_fields_set:
            return self.holdout_percent
        if self.variants is not None and "holdout_percent" in self.variants.model_fields_set:
            return self.variants.holdout_percent
        return DEFAULT_HOLDOUT_PERCENT if self.uplift_model is not None else self.holdout_percent

    @field_validator("calendar")
    @classmethod
    def _calendar_rules(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if value is not None:
            try:
                check_rules(value)
            except CalendarInvalid as invalid:
                raise ValueError(str(invalid)) from invalid
        return value

    @field_validator("collapse_key")
    @classmethod
    def _collapse_key_fits(cls, value: str | None) -> str | None:
        if value is not None and not 0 < len(value.encode()) <= MAX_COLLAPSE_ID_BYTES:
            raise ValueError(f"collapse_key must be 1 to {MAX_COLLAPSE_ID_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _visible_or_background(self) -> NotificationIn:
        if self.template is not None:
            if self.content is not None:
                raise ValueError("give either content or template, not both")
            return self
        if self.uplift is not None and self.variants is not None and self.variants.mode == "uplift":
            raise ValueError('give "uplift" or variants in mode "uplift", not both')
        if self.uplift_model is not None and self.priority == "transactional":
            raise ValueError("transactional messages are never targeted by a model")
        if self.variables or self.data is not None or self.variants or self.pick:
            raise ValueError("variables, data, variants and pick go with a template")
        if self.content is None:
            raise ValueError("give content (or a template)")
        silent = self.apns.push_type == "background"
        if not silent and not (self.content.title or self.content.body):
            raise ValueError("content needs a title or a body (or send apns.push_type=background)")
        return self


class AcceptedOut(BaseModel):
    id: str
    status: str
    recipients: int


class NotificationOut(BaseModel):
    id: str
    status: str
    created_at: datetime
    recipients: int
    priority: str
    category: str | None
    send_at: datetime | None
    expires_at: datetime | None
    cancelled_at: datetime | None
    counts: dict[str, int]
    feedback: Feedback


class LastError(BaseModel):
    reason: str | None
    provider_status: int | None


class TrailStep(BaseModel):
    """One step of a delivery's life: accepted, each attempt, content or channel fallback."""

    at: datetime
    kind: str
    detail: dict[str, Any] = Field(default_factory=dict)


class DeliveryOut(BaseModel):
    id: str
    device_id: str | None
    user_id: str | None
    channel: str
    state: str
    attempts: int
    last_error: LastError | None
    sent_at: datetime | None
    outcome_at: datetime | None
    next_attempt_at: datetime | None
    deferred_until: datetime | None = Field(
        default=None, description="When a `deferred` delivery is due again (the gate's `reason` says why)."
    )
    reason: str | None = Field(
        default=None,
        description="Why the gate held it back: deferred, suppressed (`cap:86400`, `quiet_hours`, "
        "`opted_out:<category>`, `duplicate`, ...), held_out or digested (`digest`; the carrying "
        "delivery is on the trail).",
    )
    trail: list[TrailStep] | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class CancelOut(BaseModel):
    id: str
    status: str
    cancelled: int

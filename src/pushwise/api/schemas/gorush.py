"""Gorush's `POST /api/push` request and answer (appleboy/gorush README, "Web API").

The request keeps Gorush's field names (hyphens included) and, like Gorush, ignores fields it does
not know, so a Gorush client's requests are accepted unchanged. What each field becomes in pushwise
is in `pushwise.api.gorush` and docs/gorush.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_NOTIFICATIONS = 100  # Gorush's default `max_notification`
MAX_TOKENS = 10_000  # pushwise's largest list of devices in one notification


class GorushAlert(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    title: str | None = None
    subtitle: str | None = None
    body: str | None = None


class GorushNotification(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    notif_id: str | None = Field(default=None, max_length=200)
    tokens: list[str] = Field(default_factory=list, max_length=MAX_TOKENS)
    platform: int
    message: str | None = None
    title: str | None = None
    image: str | None = None
    priority: str | None = None
    content_available: bool = False
    mutable_content: bool = False
    sound: str | dict[str, Any] | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    topic: str | None = None
    to: str | None = None
    condition: str | None = None
    dry_run: bool = False
    retry: int | None = None
    # Android (FCM)
    collapse_key: str | None = None
    time_to_live: int | None = None
    restricted_package_name: str | None = None
    notification: dict[str, Any] | None = None
    android: dict[str, Any] | None = None
    webpush: dict[str, Any] | None = None
    fcm_options: dict[str, Any] | None = None
    # Huawei (Push Kit)
    huawei_data: str | None = None
    huawei_ttl: str | int | None = None
    # iOS (APNs)
    expiration: int | None = None
    apns_id: str | None = None
    collapse_id: str | None = None
    push_type: str | None = None
    badge: int | None = None
    category: str | None = None
    thread_id: str | None = Field(default=None, alias="thread-id")
    alert: GorushAlert | None = None
    production: bool = False
    development: bool = False
    name: str | None = None
    volume: float | None = None
    interruption_level: str | None = None
    apns: dict[str, Any] | None = None
    content_state: dict[str, Any] | None = Field(default=None, alias="content-state")
    timestamp: int | None = None
    event: str | None = None
    stale_date: int | None = Field(default=None, alias="stale-date")
    dismissal_date: int | None = Field(default=None, alias="dismissal-date")
    attributes_type: str | None = Field(default=None, alias="attributes-type")
    attributes: dict[str, Any] | None = None
    relevance_score: float | None = Field(default=None, alias="relevance-score")


class GorushRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    notifications: list[GorushNotification]


class GorushLog(BaseModel):
    """A token that could not be sent to, found while accepting (Gorush's sync-mode log entry)."""

    type: str = "failed-push"
    platform: str
    token: str
    message: str
    error: str
    notif_id: str | None = None


class GorushAccepted(BaseModel):
    """What pushwise adds: the durable notification each Gorush notification became."""

    index: int
    id: str
    recipients: int


class GorushAnswer(BaseModel):
    counts: int
    logs: list[GorushLog]
    success: str = "ok"
    accepted: list[GorushAccepted] = Field(
        default_factory=list,
        description="pushwise's notification ids (GET /v1/notifications/{id}); Gorush clients ignore it.",
    )


class GorushPlatformStat(BaseModel):
    push_success: int
    push_error: int


class GorushAppStats(BaseModel):
    version: str
    busy_workers: int
    success_tasks: int
    failure_tasks: int
    submitted_tasks: int
    total_count: int
    ios: GorushPlatformStat
    android: GorushPlatformStat
    huawei: GorushPlatformStat


class GorushRuntimeStats(BaseModel):
    """The keys of Gorush's `/api/stat/go` that have a meaning in a Python process."""

    time: int = Field(description="Unix time in nanoseconds.")
    python_version: str
    go_os: str
    go_arch: str
    cpu_num: int
    goroutine_num: int = Field(description="asyncio tasks in this process.")
    memory_sys: int = Field(description="Peak resident memory of this process, bytes.")
    gc_num: int = Field(description="Garbage collections run, all generations.")

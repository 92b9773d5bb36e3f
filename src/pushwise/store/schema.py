"""The one schema, shared by SQLite and PostgreSQL.

Times are Unix epoch seconds (floats): they compare and index the same way on
both engines and come straight from the injected clock. Delivery ids are integers
so audiences can be expanded with `INSERT ... SELECT` and paged by id.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT identity.
BigId = BigInteger().with_variant(Integer, "sqlite")

apps = Table(
    "apps",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(16), nullable=False),  # admin | server | client
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)

provider_credentials = Table(
    "provider_credentials",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("public_config", JSON, nullable=False),
    Column("secret", LargeBinary, nullable=False),  # encrypted JSON
    Column("updated_at", Float, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("email", String(320), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("locale", String(35), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # The profile (issue 10, migration 0009): location, e-mail verification, activity.
    Column("country", String(2), nullable=True),  # ISO 3166-1 alpha-2
    Column("region", String(100), nullable=True),
    Column("city", String(100), nullable=True),
    Column("lat", Float, nullable=True),
    Column("lon", Float, nullable=True),
    Column("email_verified", Boolean, nullable=False, server_default=text("false")),
    Column("first_seen_at", Float, nullable=True),
    Column("last_active_at", Float, nullable=True),
    # Open propensity: decayed opens over decayed pushes delivered, both referring to `engaged_at`.
    Column("opens_decayed", Float, nullable=False, server_default=text("0")),
    Column("pushes_decayed", Float, nullable=False, server_default=text("0")),
    Column("engaged_at", Float, nullable=True),
    # The user's own quiet hours ({"start": "22:00", "end": "08:00"}), over the app's.
    Column("quiet_hours", JSON, nullable=True),
    UniqueConstraint("app_id", "external_id"),
    Index(None, "app_id", "last_active_at"),
    Index(None, "app_id", "country"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("platform", String(16), nullable=False),  # ios | android | web
    Column("token", Text, nullable=False),
    Column("subscription", JSON, nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("locale", String(35), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("deactivated_reason", String(64), nullable=True),
    Column("deactivated_at", Float, nullable=True),
    Column("last_seen_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("app_id", "platform", "token"),
    Index(None, "app_id", "user_id"),
    Index(None, "app_id", "active"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("target", JSON, nullable=False),
    Column("priority", String(16), nullable=False),
    Column("category", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("send_at", Float, nullable=True),
    Column("expires_at", Float, nullable=True),
    Column("recipients", Integer, nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("cancelled_at", Float, nullable=True),
    # The campaign it belongs to (migration 0016): analytics, deliveries, learning across its sends.
    Column("campaign_id", String(40), nullable=True),
    UniqueConstraint("app_id", "idempotency_key"),
    Index(None, "app_id", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notification_id", String(40), ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", String(40), nullable=False),
    Column("device_id", String(40), nullable=True),
    Column("user_id", String(40), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("lane", SmallInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    # When the queue may next claim this delivery: the due time while pending, the
    # lease's end while `sending` (so an expired lease is simply due again), NULL once final.
    Column("due_at", Float, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("accepted_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    Column("outcome_at", Float, nullable=True),
    Column("last_reason", String(64), nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("provider_message_id", String(64), nullable=True),
    # Times an operator queued it again after it failed (dead-letter replay): metrics count
    # a replayed delivery's later outcome apart, so each delivery is counted once.
    Column("replays", Integer, nullable=False, server_default=text("0")),
    # What a personalised delivery showed, for learning (migration 0015): template, variant, item.
    Column("template", String(64), nullable=True),
    Column("variant", String(32), nullable=True),
    Column("item_id", String(128), nullable=True),
    Index(
        "ix_deliveries_due",
        "lane",
        "due_at",
        sqlite_where=text("due_at IS NOT NULL"),
        postgresql_where=text("due_at IS NOT NULL"),
    ),
    Index(None, "notification_id", "state"),
    Index(None, "device_id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("provider_status", Integer, nullable=True),
    Column("retry_at", Float, nullable=True),
    Index(None, "delivery_id"),
)

# --- monitoring (issue 5): rollups, counters, alert rules and sinks, alert history, credential health ---

# Counts per time bucket, app, channel, event and outcome, written by every process
# (upsert-increment), so dashboards and alerts see the whole cluster. Two resolutions:
# 10-second buckets for alerting (kept an hour) and 60-second buckets for history.
metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column("resolution", SmallInteger, primary_key=True, autoincrement=False),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),  # bucket start, epoch seconds
    Column("app_id", String(40), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("event", String(16), primary_key=True),  # attempt | final | replayed | pruned
    Column("outcome", String(24), primary_key=True),  # attempt outcome kind or final state
    Column("reason", String(64), primary_key=True),  # "" when there is none
    Column("count", BigInteger, nullable=False),
    Column("latency_sum", Float, nullable=False),  # accept-to-outcome seconds summed over final events
)

# Monotonic cluster-wide counters (and histogram buckets) behind `/metrics`: never pruned.
metric_totals = Table(
    "metric_totals",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("labels", String(255), primary_key=True),  # canonical JSON object, sorted keys
    Column("value", Float, nullable=False),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("rules", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

alert_sinks = Table(
    "alert_sinks",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("sinks", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("subject", String(64), nullable=False),  # what the alert is about, e.g. a channel; "" for the app
    Column("state", String(16), nullable=False),  # firing | resolved
    Column("summary", Text, nullable=False),
    Column("value", Float, nullable=True),
    Column("threshold", Float, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("notified_at", Float, nullable=True),
    Column("notifications", Integer, nullable=False),
    Column("resolved_at", Float, nullable=True),
    Index(None, "app_id", "state"),
)

credential_health = Table(
    "credential_health",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("status", String(16), nullable=False),  # ok | expiring | invalid
    Column("detail", Text, nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("checked_at", Float, nullable=False),
)


# --- Scale-out (issue 4): fair claims between apps ---------------------------
# The claim takes a quota of due deliveries per app; this index lets it find one
# app's due rows without walking past another app's huge campaign.
Index(
    "ix_deliveries_app_due",
    deliveries.c.app_id,
    deliveries.c.lane,
    deliveries.c.due_at,
    sqlite_where=text("due_at IS NOT NULL"),
    postgresql_where=text("due_at IS NOT NULL"),
)

# --- failure notices (issue 5, migration 0008) ------------------------------------
# The follow-up sweep pages through devices turned off for a denied permission by
# `deactivated_at`; partial, so the many devices pruned for dead tokens stay out of it.
Index(
    "ix_devices_permission_denied",
    devices.c.deactivated_at,
    postgresql_where=devices.c.deactivated_reason == "PermissionDenied",
    sqlite_where=devices.c.deactivated_reason == "PermissionDenied",
)

# --- inbox (in-app messages): issue 3, migration 0004 ---

inbox_items = Table(
    "inbox_items",
    metadata,
    # An integer id orders items newest-first and pages by a plain `id < cursor`;
    # every read is scoped to (app, user), so a guessable id reveals nothing.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("notification_id", String(40), nullable=True),
    # Unique so a delivery retried after a lost lease writes its item once.
    Column("delivery_id", BigInteger, nullable=True, unique=True),
    Column("title", Text, nullable=True),
    Column("body", Text, nullable=True),
    Column("data", JSON, nullable=False),
    Column("url", Text, nullable=True),
    Column("read_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("deleted_at", Float, nullable=True),
    Index(None, "app_id", "user_id", "id"),
)

# (E-mail unsubscribes moved to `channel_unsubscribes` in migration 0009.)

# --- fallback channels, delivery trail, failure notices (issue 3, engine reliability; migration 0002) ---

# Notable steps of a delivery beyond its attempts (which live in `attempts`):
# content fallback, circuit holds, fallback to another channel, failure notices.
delivery_events = Table(
    "delivery_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=True),
    Column("notification_id", String(40), ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "delivery_id"),
    Index(None, "notification_id"),
)

# One row per fallback step taken for one user of one notification. The primary key
# is what makes fallback idempotent: a step planned twice (at-least-once processing)
# conflicts, and the transaction that would have added a second set of deliveries
# rolls back. `step` is the 1-based position in the spec's `fallback.channels`.
fallback_steps = Table(
    "fallback_steps",
    metadata,
    Column(
        "notification_id", String(40), ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_id", String(40), primary_key=True),
    Column("step", SmallInteger, primary_key=True, autoincrement=False),
    Column("channel", String(16), nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("at", Float, nullable=False),
)

# When each user was last told that push no longer reaches them, so they are told once per period.
failure_notices = Table(
    "failure_notices",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", String(40), nullable=False),
    Column("sent_at", Float, nullable=False),
    Column("channel", String(16), nullable=False),
)

# Where an app wants delivery receipts, and which event types.
receipt_endpoints = Table(
    "receipt_endpoints",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", LargeBinary, nullable=False),  # sealed
    Column("events", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Receipts waiting to be posted. `due_at` works like the delivery queue's: the next
# try while waiting, the lease's end while a sender posts it.
receipt_outbox = Table(
    "receipt_outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("event", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Index(None, "due_at"),
)

# --- failure notice templates and the follow-up sweep (issue 3; migration 0006) ---

# An app's own words for the failure notice, one row per locale (lower case, e.g. "de" or
# "pt-br"); locales without a row use the built-in text (`pushwise.domain.failure_notice`).
failure_notice_templates = Table(
    "failure_notice_templates",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("locale", String(35), primary_key=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# The follow-up sweep pages through deliveries that recently ended undelivered (including
# those a fallback step already replaced), by outcome time. Partial, so delivered
# deliveries (nearly all of them) never touch it.
Index(
    "ix_deliveries_gave_up",
    deliveries.c.outcome_at,
    deliveries.c.id,
    sqlite_where=text("state IN ('failed', 'expired', 'fallback')"),
    postgresql_where=text("state IN ('failed', 'expired', 'fallback')"),
)

# --- circuits and connections across the cluster (issues 3 and 5; migration 0007) ---

# Each process's circuit breakers, rewritten by that process every flush (~2 s): a row not
# refreshed for a few flushes is from a dead process and ignored, then pruned. No foreign
# key: the rows are a short-lived report, not data to keep consistent.
circuits = Table(
    "circuits",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("owner", String(120), primary_key=True),  # the reporting process
    Column("state", String(16), nullable=False),  # closed (counting failures) | half_open | open
    Column("reason", String(64), nullable=True),
    Column("opened_at", Float, nullable=False),
    Column("until", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Open connections each process holds to each app's provider endpoints, reported alike.
provider_connections = Table(
    "provider_connections",
    metadata,
    Column("app_id", String(40), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("owner", String(120), primary_key=True),
    Column("connections", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# --- audience (issue 10; migration 0009): profiles, the user-event log, preferences, segments ---
#
# The gate, content selection and the population study read these. What a profile learns
# from events is kept incrementally: decayed values are stored with the time they refer
# to (`value * 2^(-(now - at) / half_life)` is their worth now), so no job rescans history.

# The user-event log: what apps tell us their users did (`POST /v1/events`). Append-only;
# `event_key` is the client's own id, unique per app, so a repeated event is stored once.
# Not to be confused with `delivery_events`, the delivery trail.
user_events = Table(
    "user_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("event_key", String(128), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(72), nullable=False),
    Column("at", Float, nullable=False),  # when it happened (client time, bounded by the late window)
    Column("received_at", Float, nullable=False),
    Column("notification_id", String(40), nullable=True),
    Column("delivery_id", BigInteger, nullable=True),
    Column("category", String(64), nullable=True),
    Column("value", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("properties", JSON, nullable=False),
    # The item a behaviour event is about (`properties.item_id`), for picks (migration 0015).
    Column("item_id", String(128), nullable=True),
    UniqueConstraint("app_id", "event_key"),
    # A user's history by type and time: profiles, experiment outcomes over a window, journeys.
    Index(None, "user_id", "type", "at"),
    # Feedback and analytics per notification.
    Index(None, "notification_id", "type"),
    # Retention pruning.
    Index(None, "received_at"),
)

# Interests: category -> weight, decayed with the interest half-life, referring to `at`.
user_interests = Table(
    "user_interests",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("app_id", String(40), nullable=False),
    Column("weight", Float, nullable=False),
    Column("at", Float, nullable=False),
    # Segments drive from here: "interest in shoes above 0.3" is a range on the stored weight
    # (never below its decayed value), then an exact check.
    Index(None, "app_id", "category", "weight"),
)

# Engagement counters per user and UTC day (`day` = epoch day); the row with day 0 holds the
# all-time totals. 7- and 30-day figures sum the recent days; day rows older than 31 days are pruned.
user_engagement = Table(
    "user_engagement",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("app_id", String(40), nullable=False),
    Column("sent", Integer, nullable=False, server_default=text("0")),
    Column("delivered", Integer, nullable=False, server_default=text("0")),
    Column("opened", Integer, nullable=False, server_default=text("0")),
    Column("clicked", Integer, nullable=False, server_default=text("0")),
    Column("dismissed", Integer, nullable=False, server_default=text("0")),
    Column("converted", Integer, nullable=False, server_default=text("0")),
    Column("revenue", Float, nullable=False, server_default=text("0")),
)

# Feedback counts (not_interested, too_many, dismissed, unsubscribed, ...) per notification,
# campaign, category and template, incremented as events are ingested.
feedback_counts = Table(
    "feedback_counts",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("dimension", String(16), primary_key=True),  # notification | campaign | category | template
    Column("key", String(128), primary_key=True),
    Column("type", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# The app's notification categories (`PUT /v1/apps/{app_id}/categories`).
categories = Table(
    "categories",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # the order the app listed them in
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("default_on", Boolean, nullable=False),
    Column("channels", JSON, nullable=True),  # channels the category may use; NULL: all
    Column("config", JSON, nullable=False),  # further per-category settings (quiet hours, vendor classes)
    Column("updated_at", Float, nullable=False),
)

# A user's own choice per category and channel; no row: the category's default.
user_preferences = Table(
    "user_preferences",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("category", String(64), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("allowed", Boolean, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Global unsubscribes per channel (e-mail's one-click unsubscribe lands here too).
channel_unsubscribes = Table(
    "channel_unsubscribes",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
)

segments = Table(
    "segments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("rule", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index(None, "app_id", "created_at"),
)

# --- experiments and uplift models (issue 18; migration 0010) ---
#
# An experiment is a record of random assignment: which user got which arm, and when.
# The planner writes one per notification or campaign with a holdout or variants
# (`source` names it); past experiments from other tools are imported (`source` =
# "import"). Outcomes are not stored: they are read from `user_events` over the same
# window after `at` for every arm (`store/experiments.py`).
experiments = Table(
    "experiments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("arms", JSON, nullable=False),  # arm keys, in the order given
    Column("control", String(64), nullable=False),
    Column("source", String(16), nullable=False),  # import | notification | campaign
    Column("source_id", String(40), nullable=True),  # the notification or campaign
    Column("model_id", String(40), nullable=True),  # the uplift model that targeted the send
    Column("created_at", Float, nullable=False),
    UniqueConstraint("app_id", "source", "source_id"),
    Index(None, "app_id", "created_at"),
    Index(None, "model_id"),
)

# One row per user and experiment: the first assignment stands (a user never changes arm).
experiment_assignments = Table(
    "experiment_assignments",
    metadata,
    Column("experiment_id", String(40), ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("arm", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Index(None, "experiment_id", "arm"),
)

# Uplift models: the request, the training job's state (a lease, so a process killed
# mid-training leaves it `training` and another finishes it), the validation summary and
# the trained learner (`artifact`: skops and numpy arrays, never a pickle).
uplift_models = Table(
    "uplift_models",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("spec", JSON, nullable=False),  # learn_from, goal, window_hours, cost_per_send, features, seed
    Column("status", String(16), nullable=False),  # training | ready | failed
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("trained_at", Float, nullable=True),
    Column("lease_owner", String(120), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("summary", JSON, nullable=True),  # arms, control, rows, validation, decision rule
    Column("artifact", LargeBinary, nullable=True),
    Index(None, "app_id", "created_at"),
    Index(None, "status", "lease_until"),
)

# Issue 14 (trust): request budgets shared by the API processes of a cluster, and the audit log.

# One token bucket per caller (`key:<id>`, `ip:<address>`, `login:<address>`); see
# `pushwise.domain.request_budget`. `per_second`, `burst` and `spent` are the last charger's, read
# by the upsert that refills and charges the bucket in one statement.
request_budgets = Table(
    "request_budgets",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("level", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("per_second", Float, nullable=False),
    Column("burst", Float, nullable=False),
    Column("spent", Float, nullable=False),
)

# Who (a key id, never the key) did what to which app, when and from where. No foreign key:
# the record outlives the app it names.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("app_id", String(40), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("ip", String(64), nullable=True),
    Index(None, "app_id", "id"),
)

# --- content (issue 12; migration 0012): message templates, every version kept ---
# A notification renders with the version it was accepted with, so a template edited
# mid-campaign never changes what the rest of that campaign says. PUT adds a version;
# DELETE marks the key deleted (its versions stay for notifications still sending).
templates = Table(
    "templates",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("deleted_at", Float, nullable=True),
)

# --- preferences and privacy (issue 10; migration 0013) ---
#
# A user's data is found by `user_id` in every table that has one (export and erase walk
# `metadata` for that column, so a table added later is covered); these indexes keep that
# walk off full scans of the big tables.
Index("ix_deliveries_user_id", deliveries.c.user_id)
Index("ix_fallback_steps_user_id", fallback_steps.c.user_id)
Index("ix_experiment_assignments_user_id", experiment_assignments.c.user_id)

# The one-tap answer to the failure notice's "why did you turn notifications off?": one per
# user (a later answer replaces it), counted per app and answer.
notice_answers = Table(
    "notice_answers",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("answer", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Index(None, "app_id", "answer"),
)

# --- Android in China (issue 19; migration 0014) ---------------------------------------
# A device registered with a phone maker's token names that `vendor` (its deliveries go on
# the vendor's channel); devices sharing an `installation_id` are one app on one phone,
# reached by one delivery per notification in the app's route order.
devices.append_column(Column("vendor", String(16), nullable=True))
devices.append_column(Column("installation_id", String(255), nullable=True))
Index("ix_devices_installation", devices.c.app_id, devices.c.installation_id)

# An app's sending policy (`PUT /v1/apps/{app_id}/policy`): today `android_routes`; the gate
# adds its caps, quiet hours and vendor quotas to the same document.
app_policies = Table(
    "app_policies",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("policy", JSON, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Marketing pushes each vendor accepted, and its "quota spent" answers, per app and vendor
# day (Asia/Shanghai): the dashboard's quota chart.
vendor_quota_use = Table(
    "vendor_quota_use",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("vendor", String(16), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("marketing", BigInteger, nullable=False),
    Column("quota_spent", BigInteger, nullable=False),
)

# --- catalogue and picks (issue 12; migration 0015) ---
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("title", Text, nullable=False),
    Column("category", String(64), nullable=True),
    Column("price", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("stock", Integer, nullable=True),  # NULL: not tracked, always available
    Column("launched_at", Float, nullable=True),
    Column("fields", JSON, nullable=False),  # everything else a template may show (tags, url, image, names)
    Column("updated_at", Float, nullable=False),
    Index(None, "app_id", "category"),
)

# How much users alike engaged with each item lately: per app, cohort (users' strongest
# interest category; "" for everyone) and item. Rebuilt by the leader every few minutes.
item_popularity = Table(
    "item_popularity",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("cohort", String(64), primary_key=True),
    Column("item_id", String(128), primary_key=True),
    Column("score", Float, nullable=False),
)

Index(
    "ix_user_events_item_activity",
    user_events.c.app_id,
    user_events.c.at,
    sqlite_where=user_events.c.item_id.is_not(None),
    postgresql_where=user_events.c.item_id.is_not(None),
)
Index(
    "ix_user_events_user_item",
    user_events.c.user_id,
    user_events.c.item_id,
    sqlite_where=user_events.c.item_id.is_not(None),
    postgresql_where=user_events.c.item_id.is_not(None),
)

Index(
    "ix_deliveries_personal",
    deliveries.c.user_id,
    deliveries.c.sent_at,
    sqlite_where=deliveries.c.template.is_not(None),
    postgresql_where=deliveries.c.template.is_not(None),
)

# --- campaigns and journeys (issue 12; migration 0016) ---
# A campaign is a definition (one-off, scheduled, recurring, journey) and its state. Scheduled
# and recurring campaigns are due rows (`next_run_at`) the leader sweeps; a journey's runs are
# rows of their own, one per user entry, with the pointer to their next step and when it is due.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # one_off | scheduled | recurring | journey
    Column("definition", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # active | paused | finished
    Column("trigger", String(72), nullable=True),  # journeys: the event type that starts a run
    Column("next_run_at", Float, nullable=True),  # scheduled and recurring: when to send next
    Column("runs", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index(None, "app_id", "created_at"),
    Index(None, "app_id", "trigger", "status"),
    Index(
        "ix_campaigns_due",
        "next_run_at",
        sqlite_where=text("status = 'active' AND next_run_at IS NOT NULL"),
        postgresql_where=text("status = 'active' AND next_run_at IS NOT NULL"),
    ),
)

journey_runs = Table(
    "journey_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("campaign_id", String(40), ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", String(40), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("event", JSON, nullable=False),  # what started it, as templates see it (`event`)
    Column("pointer", JSON, nullable=False),  # the path to the next step
    Column("state", String(16), nullable=False),  # active | done | exited
    Column("entered_at", Float, nullable=False),
    Column("due_at", Float, nullable=True),  # when an active run's next step is due
    # A send in progress: the idempotency key of the notification it is part of. A runner that
    # dies after sending leaves it, and the next sweep replays the send under the same key.
    Column("claim", String(64), nullable=True),
    Column("updated_at", Float, nullable=False),
    Index(None, "campaign_id", "user_id"),
    Index(
        "ix_journey_runs_due",
        "due_at",
        sqlite_where=text("state = 'active'"),
        postgresql_where=text("state = 'active'"),
    ),
    Index(None, "user_id", "state"),
)

Index(
    "ix_notifications_campaign",
    notifications.c.campaign_id,
    sqlite_where=notifications.c.campaign_id.is_not(None),
    postgresql_where=notifications.c.campaign_id.is_not(None),
)

# --- the gate against fatigue (issue 11; migration 0017) -------------------------------
# The ledger caps count from: one row per delivery the gate let through (reserved in the
# gate's own transaction, before the send) that counts against an app's caps, gap,
# duplicates, fatigue or a phone maker's quota. A delivery that ends unsent gives its row
# back in the transaction that records that outcome (`store/queue.py`). `user_id` is the
# user, or `device:<id>` for a device registered without one. Rows older than the longest
# window any policy may name are pruned.
gate_sends = Table(
    "gate_sends",
    metadata,
    Column("delivery_id", BigInteger, primary_key=True, autoincrement=False),
    Column("app_id", String(40), nullable=False),
    Column("user_id", String(60), nullable=False),
    Column("notification_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("device_id", String(40), nullable=True),
    Column("category", String(64), nullable=True),
    Column("campaign", String(40), nullable=True),
    Column("content_key", String(32), nullable=True),
    Column("collapse_key", String(255), nullable=True),
    Column("marketing", Boolean, nullable=False),  # a phone maker's marketing class
    Column("capped", Boolean, nullable=False),  # counts against caps (never transactional)
    Index(None, "user_id", "at"),
    Index(None, "at"),
)

# Paced streams (a notification's `rate_per_minute`, an app's `max_per_minute` per channel):
# the next free slot of each (`domain/gate/pace.py`).
gate_paces = Table(
    "gate_paces",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("next_free", Float, nullable=False),
)

# Digests (`domain/gate/digest.py`): per user and device, the window a first push opened
# and the delivery (`carrier`; 0: none yet) that will carry what gathers in it.
gate_digests = Table(
    "gate_digests",
    metadata,
    Column("user_id", String(60), primary_key=True),
    Column("key", String(60), primary_key=True),
    Column("app_id", String(40), nullable=False),
    Column("carrier", BigInteger, nullable=False),
    Column("closes_at", Float, nullable=False),
)

# The deliveries that went out inside a digest, by the delivery that carried them.
gate_digest_parts = Table(
    "gate_digest_parts",
    metadata,
    Column("delivery_id", BigInteger, primary_key=True, autoincrement=False),
    Column("carrier", BigInteger, nullable=False),
    Column("notification_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Column("title", Text, nullable=True),  # the part's words as its user would have seen them
    Column("body", Text, nullable=True),
    Index(None, "carrier"),
    Index(None, "at"),
)

# Send-time optimisation: opens and clicks per local hour of the week (0 = Monday 00:00),
# decayed like interests, per user and for the app's whole population.
user_send_hours = Table(
    "user_send_hours",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", SmallInteger, primary_key=True, autoincrement=False),
    Column("app_id", String(40), nullable=False),
    Column("weight", Float, nullable=False),
    Column("at", Float, nullable=False),
)

app_send_hours = Table(
    "app_send_hours",
    metadata,
    Column("app_id", String(40), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True),
    Column("hour", SmallInteger, primary_key=True, autoincrement=False),
    Column("weight", Float, nullable=False),
    Column("at", Float, nullable=False),
)

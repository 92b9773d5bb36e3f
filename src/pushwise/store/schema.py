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
    UniqueConstraint("app_id", "external_id"),
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

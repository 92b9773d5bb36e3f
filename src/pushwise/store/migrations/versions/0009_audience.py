"""audience: profile columns, the user-event log, interests, engagement, feedback counts,
categories, preferences, channel unsubscribes (e-mail's moved here), segments

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _user_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("first_seen_at", sa.Float(), nullable=True),
        sa.Column("last_active_at", sa.Float(), nullable=True),
        sa.Column("opens_decayed", sa.Float(), nullable=False, server_default=sa.text("0")),
        sa.Column("pushes_decayed", sa.Float(), nullable=False, server_default=sa.text("0")),
        sa.Column("engaged_at", sa.Float(), nullable=True),
        sa.Column("quiet_hours", sa.JSON(), nullable=True),
    )


def _app_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["app_id"], ["apps.id"], name=op.f(f"fk_{table}_app_id_apps"), ondelete="CASCADE"
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for column in _user_columns():
            batch.add_column(column)
    op.create_index(op.f("ix_users_app_id_last_active_at"), "users", ["app_id", "last_active_at"])
    op.create_index(op.f("ix_users_app_id_country"), "users", ["app_id", "country"])
    op.execute("UPDATE users SET first_seen_at = created_at")

    op.create_table(
        "user_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("event_key", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=72), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("notification_id", sa.String(length=40), nullable=True),
        sa.Column("delivery_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        _app_fk("user_events"),
        _user_fk("user_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_events")),
        sa.UniqueConstraint("app_id", "event_key", name=op.f("uq_user_events_app_id_event_key")),
    )
    op.create_index(op.f("ix_user_events_user_id_type_at"), "user_events", ["user_id", "type", "at"])
    op.create_index(op.f("ix_user_events_notification_id_type"), "user_events", ["notification_id", "type"])
    op.create_index(op.f("ix_user_events_received_at"), "user_events", ["received_at"])

    op.create_table(
        "user_interests",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        _user_fk("user_interests"),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_user_interests")),
    )
    op.create_index(
        op.f("ix_user_interests_app_id_category_weight"), "user_interests", ["app_id", "category", "weight"]
    )

    op.create_table(
        "user_engagement",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            for name in ("sent", "delivered", "opened", "clicked", "dismissed", "converted")
        ),
        sa.Column("revenue", sa.Float(), nullable=False, server_default=sa.text("0")),
        _user_fk("user_engagement"),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_user_engagement")),
    )

    op.create_table(
        "feedback_counts",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        _app_fk("feedback_counts"),
        sa.PrimaryKeyConstraint("app_id", "dimension", "key", "type", name=op.f("pk_feedback_counts")),
    )

    op.create_table(
        "categories",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_on", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _app_fk("categories"),
        sa.PrimaryKeyConstraint("app_id", "key", name=op.f("pk_categories")),
    )

    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _user_fk("user_preferences"),
        sa.PrimaryKeyConstraint("user_id", "category", "channel", name=op.f("pk_user_preferences")),
    )

    op.create_table(
        "channel_unsubscribes",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        _app_fk("channel_unsubscribes"),
        _user_fk("channel_unsubscribes"),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_channel_unsubscribes")),
    )
    op.execute(
        "INSERT INTO channel_unsubscribes (user_id, channel, app_id, at) "
        "SELECT user_id, 'email', app_id, unsubscribed_at FROM email_unsubscribes"
    )
    op.drop_table("email_unsubscribes")

    op.create_table(
        "segments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        _app_fk("segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
    )
    op.create_index(op.f("ix_segments_app_id_created_at"), "segments", ["app_id", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_segments_app_id_created_at"), table_name="segments")
    op.drop_table("segments")
    op.create_table(
        "email_unsubscribes",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("unsubscribed_at", sa.Float(), nullable=False),
        _app_fk("email_unsubscribes"),
        _user_fk("email_unsubscribes"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_email_unsubscribes")),
    )
    op.execute(
        "INSERT INTO email_unsubscribes (user_id, app_id, unsubscribed_at) "
        "SELECT user_id, app_id, at FROM channel_unsubscribes WHERE channel = 'email'"
    )
    op.drop_table("channel_unsubscribes")
    op.drop_table("user_preferences")
    op.drop_table("categories")
    op.drop_table("feedback_counts")
    op.drop_table("user_engagement")
    op.drop_index(op.f("ix_user_interests_app_id_category_weight"), table_name="user_interests")
    op.drop_table("user_interests")
    op.drop_index(op.f("ix_user_events_received_at"), table_name="user_events")
    op.drop_index(op.f("ix_user_events_notification_id_type"), table_name="user_events")
    op.drop_index(op.f("ix_user_events_user_id_type_at"), table_name="user_events")
    op.drop_table("user_events")
    op.drop_index(op.f("ix_users_app_id_country"), table_name="users")
    op.drop_index(op.f("ix_users_app_id_last_active_at"), table_name="users")
    with op.batch_alter_table("users") as batch:
        for column in reversed(_user_columns()):
            batch.drop_column(column.name)

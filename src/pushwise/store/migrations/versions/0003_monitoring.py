"""monitoring: metric rollups and totals, alert rules, sinks and events, credential health

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _app_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["app_id"], ["apps.id"], name=f"fk_{table}_app_id_apps", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("resolution", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "resolution",
            "bucket",
            "app_id",
            "channel",
            "event",
            "outcome",
            "reason",
            name="pk_metric_rollups",
        ),
    )
    op.create_table(
        "metric_totals",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("labels", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", "labels", name="pk_metric_totals"),
    )
    for table, column in (("alert_rules", "rules"), ("alert_sinks", "sinks")):
        op.create_table(
            table,
            sa.Column("app_id", sa.String(length=40), nullable=False),
            sa.Column(column, sa.JSON(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            _app_fk(table),
            sa.PrimaryKeyConstraint("app_id", name=f"pk_{table}"),
        )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("notified_at", sa.Float(), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        _app_fk("alert_events"),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
    )
    op.create_index("ix_alert_events_app_id_state", "alert_events", ["app_id", "state"])
    op.create_table(
        "credential_health",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("checked_at", sa.Float(), nullable=False),
        _app_fk("credential_health"),
        sa.PrimaryKeyConstraint("app_id", "channel", name="pk_credential_health"),
    )


def downgrade() -> None:
    op.drop_table("credential_health")
    op.drop_index("ix_alert_events_app_id_state", table_name="alert_events")
    for table in ("alert_events", "alert_sinks", "alert_rules", "metric_totals", "metric_rollups"):
        op.drop_table(table)

"""campaigns and journeys: campaign definitions and state, journey runs, a notification's campaign

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_DUE = sa.text("status = 'active' AND next_run_at IS NOT NULL")
_ACTIVE = sa.text("state = 'active'")
_IN_CAMPAIGN = sa.text("campaign_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=72), nullable=True),
        sa.Column("next_run_at", sa.Float(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_campaigns_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_app_id_created_at"), "campaigns", ["app_id", "created_at"])
    op.create_index(op.f("ix_campaigns_app_id_trigger_status"), "campaigns", ["app_id", "trigger", "status"])
    op.create_index(
        "ix_campaigns_due", "campaigns", ["next_run_at"], sqlite_where=_DUE, postgresql_where=_DUE
    )
    op.create_table(
        "journey_runs",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("pointer", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("entered_at", sa.Float(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("claim", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_journey_runs_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_journey_runs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_runs")),
    )
    op.create_index(op.f("ix_journey_runs_campaign_id_user_id"), "journey_runs", ["campaign_id", "user_id"])
    op.create_index(op.f("ix_journey_runs_user_id_state"), "journey_runs", ["user_id", "state"])
    op.create_index(
        "ix_journey_runs_due", "journey_runs", ["due_at"], sqlite_where=_ACTIVE, postgresql_where=_ACTIVE
    )
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("campaign_id", sa.String(length=40), nullable=True))
    op.create_index(
        "ix_notifications_campaign",
        "notifications",
        ["campaign_id"],
        sqlite_where=_IN_CAMPAIGN,
        postgresql_where=_IN_CAMPAIGN,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_campaign", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("campaign_id")
    op.drop_index("ix_journey_runs_due", table_name="journey_runs")
    op.drop_index(op.f("ix_journey_runs_user_id_state"), table_name="journey_runs")
    op.drop_index(op.f("ix_journey_runs_campaign_id_user_id"), table_name="journey_runs")
    op.drop_table("journey_runs")
    op.drop_index("ix_campaigns_due", table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_app_id_trigger_status"), table_name="campaigns")
    op.drop_index(op.f("ix_campaigns_app_id_created_at"), table_name="campaigns")
    op.drop_table("campaigns")

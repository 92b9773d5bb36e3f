"""The gate against fatigue: the send ledger, paced streams, digests, send-time histograms

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gate_sends",
        sa.Column("delivery_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=60), nullable=False),
        sa.Column("notification_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("campaign", sa.String(length=40), nullable=True),
        sa.Column("content_key", sa.String(length=32), nullable=True),
        sa.Column("collapse_key", sa.String(length=255), nullable=True),
        sa.Column("marketing", sa.Boolean(), nullable=False),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_gate_sends")),
    )
    op.create_index("ix_gate_sends_user_id_at", "gate_sends", ["user_id", "at"], unique=False)
    op.create_index("ix_gate_sends_at", "gate_sends", ["at"], unique=False)
    op.create_table(
        "gate_paces",
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_gate_paces")),
    )
    op.create_table(
        "gate_digests",
        sa.Column("user_id", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("carrier", sa.BigInteger(), nullable=False),
        sa.Column("closes_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_gate_digests")),
    )
    op.create_table(
        "gate_digest_parts",
        sa.Column("delivery_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("carrier", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_gate_digest_parts")),
    )
    op.create_index("ix_gate_digest_parts_carrier", "gate_digest_parts", ["carrier"], unique=False)
    op.create_index("ix_gate_digest_parts_at", "gate_digest_parts", ["at"], unique=False)
    op.create_table(
        "user_send_hours",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_send_hours_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "hour", name=op.f("pk_user_send_hours")),
    )
    op.create_table(
        "app_send_hours",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("hour", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_send_hours_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "hour", name=op.f("pk_app_send_hours")),
    )


def downgrade() -> None:
    op.drop_table("app_send_hours")
    op.drop_table("user_send_hours")
    op.drop_index("ix_gate_digest_parts_at", table_name="gate_digest_parts")
    op.drop_index("ix_gate_digest_parts_carrier", table_name="gate_digest_parts")
    op.drop_table("gate_digest_parts")
    op.drop_table("gate_digests")
    op.drop_table("gate_paces")
    op.drop_index("ix_gate_sends_at", table_name="gate_sends")
    op.drop_index("ix_gate_sends_user_id_at", table_name="gate_sends")
    op.drop_table("gate_sends")

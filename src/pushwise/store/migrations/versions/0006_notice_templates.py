"""failure notice templates per app and locale; index of deliveries that ended undelivered

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "failure_notice_templates",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_failure_notice_templates_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "locale", name=op.f("pk_failure_notice_templates")),
    )
    op.create_index(
        "ix_deliveries_gave_up",
        "deliveries",
        ["outcome_at", "id"],
        unique=False,
        sqlite_where=sa.text("state IN ('failed', 'expired', 'fallback')"),
        postgresql_where=sa.text("state IN ('failed', 'expired', 'fallback')"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_gave_up", table_name="deliveries")
    op.drop_table("failure_notice_templates")

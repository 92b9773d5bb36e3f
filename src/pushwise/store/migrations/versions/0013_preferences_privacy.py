"""user-keyed lookups for export and erase; the failure notice's one-tap answers (issue 10)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_user_id", "deliveries", ["user_id"])
    op.create_index("ix_fallback_steps_user_id", "fallback_steps", ["user_id"])
    op.create_index("ix_experiment_assignments_user_id", "experiment_assignments", ["user_id"])
    op.create_table(
        "notice_answers",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("answer", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_notice_answers_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notice_answers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notice_answers")),
    )
    op.create_index("ix_notice_answers_app_id_answer", "notice_answers", ["app_id", "answer"])


def downgrade() -> None:
    op.drop_index("ix_notice_answers_app_id_answer", table_name="notice_answers")
    op.drop_table("notice_answers")
    op.drop_index("ix_experiment_assignments_user_id", table_name="experiment_assignments")
    op.drop_index("ix_fallback_steps_user_id", table_name="fallback_steps")
    op.drop_index("ix_deliveries_user_id", table_name="deliveries")

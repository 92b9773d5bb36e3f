"""dead-letter replays counted per delivery; index of devices turned off for a denied permission

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PERMISSION_DENIED = sa.text("deactivated_reason = 'PermissionDenied'")


def upgrade() -> None:
    op.add_column(
        "deliveries", sa.Column("replays", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.create_index(
        "ix_devices_permission_denied",
        "devices",
        ["deactivated_at"],
        unique=False,
        sqlite_where=_PERMISSION_DENIED,
        postgresql_where=_PERMISSION_DENIED,
    )


def downgrade() -> None:
    op.drop_index("ix_devices_permission_denied", table_name="devices")
    op.drop_column("deliveries", "replays")

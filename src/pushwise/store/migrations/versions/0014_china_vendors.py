"""Android in China: device vendor and installation, app policies, vendor quota use

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable): no table rebuild on SQLite, however many devices there are.
    op.add_column("devices", sa.Column("vendor", sa.String(length=16), nullable=True))
    op.add_column("devices", sa.Column("installation_id", sa.String(length=255), nullable=True))
    op.create_index("ix_devices_installation", "devices", ["app_id", "installation_id"], unique=False)
    op.create_table(
        "app_policies",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_policies_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_app_policies")),
    )
    op.create_table(
        "vendor_quota_use",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("marketing", sa.BigInteger(), nullable=False),
        sa.Column("quota_spent", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_vendor_quota_use_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "vendor", "day", name=op.f("pk_vendor_quota_use")),
    )


def downgrade() -> None:
    op.drop_table("vendor_quota_use")
    op.drop_table("app_policies")
    op.drop_index("ix_devices_installation", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("installation_id")
        batch.drop_column("vendor")

"""catalogue and picks: items, their popularity per cohort, the item of an event, what a
personalised delivery showed (template, variant, item)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HAS_ITEM = sa.text("item_id IS NOT NULL")
_PERSONAL = sa.text("template IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "catalog_items",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("launched_at", sa.Float(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_catalog_items_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "item_id", name=op.f("pk_catalog_items")),
    )
    op.create_index(op.f("ix_catalog_items_app_id_category"), "catalog_items", ["app_id", "category"])
    op.create_table(
        "item_popularity",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("cohort", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_item_popularity_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "cohort", "item_id", name=op.f("pk_item_popularity")),
    )
    with op.batch_alter_table("user_events") as batch:
        batch.add_column(sa.Column("item_id", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_user_events_item_activity",
        "user_events",
        ["app_id", "at"],
        sqlite_where=_HAS_ITEM,
        postgresql_where=_HAS_ITEM,
    )
    op.create_index(
        "ix_user_events_user_item",
        "user_events",
        ["user_id", "item_id"],
        sqlite_where=_HAS_ITEM,
        postgresql_where=_HAS_ITEM,
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("variant", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("item_id", sa.String(length=128), nullable=True))
    op.create_index(
        "ix_deliveries_personal",
        "deliveries",
        ["user_id", "sent_at"],
        sqlite_where=_PERSONAL,
        postgresql_where=_PERSONAL,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_personal", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("item_id")
        batch.drop_column("variant")
        batch.drop_column("template")
    op.drop_index("ix_user_events_user_item", table_name="user_events")
    op.drop_index("ix_user_events_item_activity", table_name="user_events")
    with op.batch_alter_table("user_events") as batch:
        batch.drop_column("item_id")
    op.drop_table("item_popularity")
    op.drop_index(op.f("ix_catalog_items_app_id_category"), table_name="catalog_items")
    op.drop_table("catalog_items")

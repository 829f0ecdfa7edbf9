"""payment links: links, their service slugs and the payments made through them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_link_service_slugs",
        sa.Column("service_slug", sa.String(length=60), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service_slug", name=op.f("pk_payment_link_service_slugs")),
    )
    op.create_table(
        "payment_links",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("service_slug", sa.String(length=60), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("min_amount", sa.BigInteger(), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("reference_label", sa.String(length=255), nullable=True),
        sa.Column("reference_hint", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(amount IS NOT NULL AND min_amount IS NULL AND max_amount IS NULL) OR (amount IS NULL)",
            name=op.f("ck_payment_links_fixed_amount_or_range"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id", "mode"],
            ["accounts.service_id", "accounts.mode"],
            name=op.f("fk_payment_links_service_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["service_slug"],
            ["payment_link_service_slugs.service_slug"],
            name=op.f("fk_payment_links_service_slug_payment_link_service_slugs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_links")),
    )
    with op.batch_alter_table("payment_links", schema=None) as batch_op:
        batch_op.create_index("ix_payment_links_account_created_at", ["service_id", "mode", "created_at"], unique=False)
        batch_op.create_index("uq_payment_links_address", ["service_slug", "slug"], unique=True)

    op.create_table(
        "payment_link_payments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("link_id", sa.String(length=26), nullable=False),
        sa.Column("payment_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["payment_links.id"], name=op.f("fk_payment_link_payments_link_id_payment_links")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_link_payments_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_link_payments")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_link_payments_payment_id")),
    )
    with op.batch_alter_table("payment_link_payments", schema=None) as batch_op:
        batch_op.create_index("ix_payment_link_payments_link_id", ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_link_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_link_payments_link_id")

    op.drop_table("payment_link_payments")
    with op.batch_alter_table("payment_links", schema=None) as batch_op:
        batch_op.drop_index("uq_payment_links_address")
        batch_op.drop_index("ix_payment_links_account_created_at")

    op.drop_table("payment_links")
    op.drop_table("payment_link_service_slugs")

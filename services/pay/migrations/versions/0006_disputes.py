"""disputes: disputes opened against captured payments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("payment_id", sa.String(length=26), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evidence_due_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("net_amount", sa.BigInteger(), nullable=True),
        sa.Column("settled_date", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=4), nullable=False),
        sa.Column("outcome_fee", sa.BigInteger(), nullable=True),
        sa.Column("next_step_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disputes_amount_positive")),
        sa.CheckConstraint("outcome IN ('won', 'lost')", name=op.f("ck_disputes_outcome_known")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_disputes_payment_id_payments")),
        sa.ForeignKeyConstraint(
            ["service_id", "mode"],
            ["accounts.service_id", "accounts.mode"],
            name=op.f("fk_disputes_service_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_account_opened_at", ["service_id", "mode", "opened_at", "id"], unique=False)
        batch_op.create_index("ix_disputes_payment_id", ["payment_id"], unique=False)
        batch_op.create_index("ix_disputes_status_next_step_at", ["status", "next_step_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index("ix_disputes_status_next_step_at")
        batch_op.drop_index("ix_disputes_payment_id")
        batch_op.drop_index("ix_disputes_account_opened_at")
    op.drop_table("disputes")

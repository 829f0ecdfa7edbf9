"""agreements: recurring card payment agreements and their stored instruments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("user_identifier", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("instrument_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id", "mode"],
            ["accounts.service_id", "accounts.mode"],
            name=op.f("fk_agreements_service_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
    )
    op.create_index(
        "ix_agreements_account_created_at", "agreements", ["service_id", "mode", "created_at", "id"], unique=False
    )
    # `AUTHORISATION_USER_NOT_PRESENT_QUEUED` (a recurring payment waiting for the worker) needs 37 characters.
    with op.batch_alter_table("payment_events") as batch:
        batch.alter_column(
            "status", type_=sa.String(length=40), existing_type=sa.String(length=32), existing_nullable=False
        )
    with op.batch_alter_table("payments") as batch:
        batch.alter_column(
            "status", type_=sa.String(length=40), existing_type=sa.String(length=32), existing_nullable=False
        )
        batch.add_column(sa.Column("agreement_id", sa.String(length=26), nullable=True))
        batch.add_column(sa.Column("agreement_payment_type", sa.String(length=11), nullable=True))
        batch.add_column(sa.Column("can_retry", sa.Boolean(), nullable=True))
        batch.create_foreign_key(op.f("fk_payments_agreement_id_agreements"), "agreements", ["agreement_id"], ["id"])
        batch.create_index("ix_payments_agreement_id", ["agreement_id"], unique=False)
    op.create_table(
        "payment_instruments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("agreement_id", sa.String(length=26), nullable=False),
        sa.Column("setup_payment_id", sa.String(length=26), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("card_brand", sa.String(length=20), nullable=True),
        sa.Column("card_type", sa.String(length=6), nullable=True),
        sa.Column("first_digits", sa.String(length=6), nullable=True),
        sa.Column("last_digits", sa.String(length=4), nullable=True),
        sa.Column("cardholder_name", sa.String(length=255), nullable=True),
        sa.Column("card_expiry", sa.String(length=5), nullable=True),
        sa.Column("billing_address", sa.JSON(), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["agreements.id"], name=op.f("fk_payment_instruments_agreement_id_agreements")
        ),
        sa.ForeignKeyConstraint(
            ["setup_payment_id"], ["payments.id"], name=op.f("fk_payment_instruments_setup_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_instruments")),
        sa.UniqueConstraint("setup_payment_id", name=op.f("uq_payment_instruments_setup_payment_id")),
    )
    op.create_index("ix_payment_instruments_agreement_id", "payment_instruments", ["agreement_id"], unique=False)
    op.create_index(
        "ix_payment_instruments_status_next_attempt_at",
        "payment_instruments",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_payment_instruments_status_next_attempt_at", table_name="payment_instruments")
    op.drop_index("ix_payment_instruments_agreement_id", table_name="payment_instruments")
    op.drop_table("payment_instruments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_agreement_id")
        batch.drop_constraint(op.f("fk_payments_agreement_id_agreements"), type_="foreignkey")
        batch.drop_column("can_retry")
        batch.drop_column("agreement_payment_type")
        batch.drop_column("agreement_id")
        batch.alter_column(
            "status", type_=sa.String(length=32), existing_type=sa.String(length=40), existing_nullable=False
        )
    with op.batch_alter_table("payment_events") as batch:
        batch.alter_column(
            "status", type_=sa.String(length=32), existing_type=sa.String(length=40), existing_nullable=False
        )
    op.drop_index("ix_agreements_account_created_at", table_name="agreements")
    op.drop_table("agreements")

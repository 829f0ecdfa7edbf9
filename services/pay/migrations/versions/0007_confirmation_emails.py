"""payment confirmation emails: the outbox of receipts sent through notify

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_notifications", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("email_custom_paragraph", sa.Text(), nullable=True))

    op.create_table(
        "confirmation_emails",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("email_address", sa.String(length=254), nullable=False),
        sa.Column("personalisation", sa.JSON(), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["payments.id"], name=op.f("fk_confirmation_emails_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_emails")),
    )
    with op.batch_alter_table("confirmation_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_confirmation_emails_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("confirmation_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_confirmation_emails_status_next_attempt_at")

    op.drop_table("confirmation_emails")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("email_custom_paragraph")
        batch_op.drop_column("email_notifications")

"""inbound numbers and inbound sms

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:46:27.574579
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_numbers",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_inbound_numbers_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_inbound_numbers_number")),
    )
    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_numbers_service_id", ["service_id"], unique=False)

    op.create_table(
        "inbound_sms",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("notify_number", sa.String(length=16), nullable=False),
        sa.Column("user_number", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_inbound_sms_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_sms")),
    )
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_sms_service_id_created_at", ["service_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_sms_service_id_created_at")

    op.drop_table("inbound_sms")
    with op.batch_alter_table("inbound_numbers", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_numbers_service_id")

    op.drop_table("inbound_numbers")

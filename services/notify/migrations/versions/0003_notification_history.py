"""notification history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:48:07.496244
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_history",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("template_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("api_key_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("key_type", sa.String(length=16), nullable=False),
        sa.Column("job_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("client_reference", sa.String(length=1000), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("billable_units", sa.Integer(), nullable=False),
        sa.Column("rate_multiplier", sa.Float(), nullable=False),
        sa.Column("international", sa.Boolean(), nullable=False),
        sa.Column("phone_prefix", sa.String(length=8), nullable=True),
        sa.Column("postage", sa.String(length=16), nullable=True),
        sa.Column("process_type", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_history")),
    )
    with op.batch_alter_table("notification_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_history_service_id_created_at", ["service_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notification_history_service_id_type_created_at",
            ["service_id", "notification_type", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_history", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_history_service_id_type_created_at")
        batch_op.drop_index("ix_notification_history_service_id_created_at")

    op.drop_table("notification_history")

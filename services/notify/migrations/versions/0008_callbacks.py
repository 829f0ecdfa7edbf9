"""callbacks: per-service configuration, the outbox of owed callbacks, and every attempt

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 12:00:00.000000

notify spec §14: a delivery row is written in the transaction that reaches a final status (or stores a received
text) and sent by the `callbacks` lanes; `callback_attempts` is the delivery log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_callback_api",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("callback_type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("bearer_token", sa.Text(), nullable=False),
        sa.Column("signing_secret", sa.Text(), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_callback_api_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_callback_api")),
        sa.UniqueConstraint(
            "service_id", "callback_type", name=op.f("uq_service_callback_api_service_id_callback_type")
        ),
    )
    op.create_table(
        "callback_deliveries",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("callback_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_callback_deliveries_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_deliveries")),
    )
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_callback_deliveries_status_next_attempt_at", ["status", "next_attempt_at"])
        batch_op.create_index("ix_callback_deliveries_service_id_created_at", ["service_id", "created_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("delivery_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempted_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callback_deliveries.id"],
            name=op.f("fk_callback_attempts_delivery_id_callback_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_attempts")),
    )
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_callback_attempts_delivery_id", ["delivery_id"])


def downgrade() -> None:
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_attempts_delivery_id")
    op.drop_table("callback_attempts")
    with op.batch_alter_table("callback_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_deliveries_service_id_created_at")
        batch_op.drop_index("ix_callback_deliveries_status_next_attempt_at")
    op.drop_table("callback_deliveries")
    op.drop_table("service_callback_api")

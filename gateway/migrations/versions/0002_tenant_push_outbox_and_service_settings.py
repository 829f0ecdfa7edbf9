"""tenant push outbox and service settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 08:20:32.609964
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
        "tenant_pushes",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("component", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_pushes")),
    )
    with op.batch_alter_table("tenant_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_tenant_pushes_component_path_status", ["component", "path", "status"], unique=False)
        batch_op.create_index("ix_tenant_pushes_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("settings")

    with op.batch_alter_table("tenant_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_tenant_pushes_status_next_attempt_at")
        batch_op.drop_index("ix_tenant_pushes_component_path_status")

    op.drop_table("tenant_pushes")

"""sign-ins to relying parties (usage statistics and the console's sign-in activity)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00.000000
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
        "sign_ins",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("credential", sa.String(length=8), nullable=False),
        sa.Column("identity", sa.String(length=4), nullable=True),
        sa.Column("proving", sa.String(length=8), nullable=True),
        sa.Column("subject_hint", sa.String(length=8), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
    )
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.create_index("ix_sign_ins_service_id_created_at", ["service_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_ins_service_id_created_at")
    op.drop_table("sign_ins")

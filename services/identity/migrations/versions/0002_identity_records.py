"""identity records (GPG 45 proving results)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 12:08:00.000000
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
        "identity_records",
        sa.Column("user_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("vot", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=8), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("verified_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_identity_records")),
    )


def downgrade() -> None:
    op.drop_table("identity_records")

"""payment pages: who used a next_url token, and whether 3-D Secure took place

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("next_url_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("three_ds_required", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("three_ds_required")
    with op.batch_alter_table("next_url_tokens", schema=None) as batch_op:
        batch_op.drop_column("used_by")

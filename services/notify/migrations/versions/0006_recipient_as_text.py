"""recipient as text

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:51:44.684628
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("to", existing_type=sa.VARCHAR(length=1024), type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("to", existing_type=sa.Text(), type_=sa.VARCHAR(length=1024), existing_nullable=False)

"""text messages as a second factor: the user's choice of factor and their mobile number

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRESENT = "(second_factor = 'app' AND totp_secret IS NOT NULL) OR (second_factor = 'sms' AND phone_number IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("second_factor", sa.String(length=8), server_default="app", nullable=False))
        batch_op.add_column(sa.Column("phone_number", sa.Text(), nullable=True))
        batch_op.alter_column("totp_secret", existing_type=sa.Text(), nullable=True)
        batch_op.create_check_constraint("second_factor_present", PRESENT)


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE second_factor <> 'app'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("second_factor_present", type_="check")
        batch_op.alter_column("totp_secret", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("phone_number")
        batch_op.drop_column("second_factor")

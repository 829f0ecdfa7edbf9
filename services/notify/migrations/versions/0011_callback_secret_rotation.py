"""callback signing secrets rotated with a 24 h overlap (notify spec §14.1)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_callback_api") as table:
        table.add_column(sa.Column("previous_signing_secret", sa.Text(), nullable=True))
        table.add_column(sa.Column("previous_until", gaap.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_callback_api") as table:
        table.drop_column("previous_until")
        table.drop_column("previous_signing_secret")

"""letter pdfs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `content` is the PDF sealed with the notify keyring (services/notify/letters/models.py); the database
    # sees opaque bytes.
    op.create_table(
        "letter_pdfs",
        sa.Column("notification_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_letter_pdfs_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_letter_pdfs")),
    )


def downgrade() -> None:
    op.drop_table("letter_pdfs")

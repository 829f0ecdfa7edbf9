"""documents (files sent by email, notify spec §12) and unsubscribe requests with their reports (§13.3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `content` is sealed under a key only the recipient's link holds (services/notify/documents/models.py).
    op.create_table(
        "documents",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("mimetype", sa.String(length=128), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_expires_at", ["expires_at"])

    op.create_table(
        "unsubscribe_request_reports",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("earliest_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("latest_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsubscribe_request_reports")),
    )
    with op.batch_alter_table("unsubscribe_request_reports", schema=None) as batch_op:
        batch_op.create_index("ix_unsubscribe_request_reports_service_id_created_at", ["service_id", "created_at"])

    # `email_address` is encrypted with the notify keyring, like the notification's recipient.
    op.create_table(
        "unsubscribe_requests",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("notification_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("template_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("email_address", sa.Text(), nullable=False),
        sa.Column("client_reference", sa.String(length=1000), nullable=True),
        sa.Column("notification_created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("report_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["unsubscribe_request_reports.id"],
            name=op.f("fk_unsubscribe_requests_report_id_unsubscribe_request_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsubscribe_requests")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_unsubscribe_requests_notification_id")),
    )
    with op.batch_alter_table("unsubscribe_requests", schema=None) as batch_op:
        batch_op.create_index("ix_unsubscribe_requests_service_id_report_id", ["service_id", "report_id"])


def downgrade() -> None:
    op.drop_table("unsubscribe_requests")
    op.drop_table("unsubscribe_request_reports")
    op.drop_table("documents")

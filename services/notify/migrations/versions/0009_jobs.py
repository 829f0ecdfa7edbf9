"""jobs: bulk sends (notify spec §18.6), and the index that counts a job's notifications

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 12:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("template_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("api_key_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("key_type", sa.String(length=16), nullable=False),
        sa.Column("notification_count", sa.Integer(), nullable=False),
        sa.Column("job_status", sa.String(length=32), nullable=False),
        sa.Column("scheduled_for", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_jobs_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_service_id_created_at", ["service_id", "created_at"])
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_job_id_status", ["job_id", "status"])


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_job_id_status")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_service_id_created_at")
    op.drop_table("jobs")

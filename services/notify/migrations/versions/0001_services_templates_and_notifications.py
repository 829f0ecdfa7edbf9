"""services, templates and notifications

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:28:25.079798
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gaap.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("organisation_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=False),
        sa.Column("email_message_limit", sa.Integer(), nullable=False),
        sa.Column("sms_message_limit", sa.Integer(), nullable=False),
        sa.Column("letter_message_limit", sa.Integer(), nullable=False),
        sa.Column("international_sms_message_limit", sa.Integer(), nullable=False),
        sa.Column("prefix_sms", sa.Boolean(), nullable=False),
        sa.Column("email_sender_local_part", sa.String(length=64), nullable=False),
        sa.Column("contact_link", sa.String(length=255), nullable=True),
        sa.Column("sms_unicode", sa.Boolean(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("template_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("api_key_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("key_type", sa.String(length=16), nullable=False),
        sa.Column("job_id", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("to", sa.String(length=1024), nullable=False),
        sa.Column("normalised_to", sa.String(length=1024), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("client_reference", sa.String(length=1000), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("personalisation", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("billable_units", sa.Integer(), nullable=False),
        sa.Column("rate_multiplier", sa.Float(), nullable=False),
        sa.Column("international", sa.Boolean(), nullable=False),
        sa.Column("phone_prefix", sa.String(length=8), nullable=True),
        sa.Column("postage", sa.String(length=16), nullable=True),
        sa.Column("reply_to_text", sa.String(length=1000), nullable=True),
        sa.Column("unsubscribe_link", sa.String(length=2048), nullable=True),
        sa.Column("process_type", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=True),
        sa.Column("created_by_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheduled_for", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_notifications_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_notification_type_status_created_at",
            ["notification_type", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_notifications_service_id_created_at", ["service_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_notifications_service_id_key_type_created_at", ["service_id", "key_type", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_service_id_notification_type_created_at",
            ["service_id", "notification_type", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_notifications_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "service_allowed_recipients",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("recipient_type", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_allowed_recipients_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_allowed_recipients")),
        sa.UniqueConstraint(
            "service_id",
            "recipient_type",
            "recipient",
            "source",
            name=op.f("uq_service_allowed_recipients_service_id_recipient_type_recipient_source"),
        ),
    )
    op.create_table(
        "service_data_retention",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("notification_type", sa.String(length=16), nullable=False),
        sa.Column("days_of_retention", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_data_retention_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_data_retention")),
        sa.UniqueConstraint(
            "service_id", "notification_type", name=op.f("uq_service_data_retention_service_id_notification_type")
        ),
    )
    op.create_table(
        "service_email_reply_to",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("email_address", sa.String(length=320), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_email_reply_to_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_email_reply_to")),
    )
    with op.batch_alter_table("service_email_reply_to", schema=None) as batch_op:
        batch_op.create_index("ix_service_email_reply_to_service_id", ["service_id"], unique=False)

    op.create_table(
        "service_letter_contacts",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("contact_block", sa.String(length=1000), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_letter_contacts_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_letter_contacts")),
    )
    with op.batch_alter_table("service_letter_contacts", schema=None) as batch_op:
        batch_op.create_index("ix_service_letter_contacts_service_id", ["service_id"], unique=False)

    op.create_table(
        "service_sms_senders",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("sms_sender", sa.String(length=11), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_sms_senders_service_id_services")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_sms_senders")),
    )
    with op.batch_alter_table("service_sms_senders", schema=None) as batch_op:
        batch_op.create_index("ix_service_sms_senders_service_id", ["service_id"], unique=False)

    op.create_table(
        "templates",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("template_type", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("postage", sa.String(length=16), nullable=True),
        sa.Column("process_type", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("has_unsubscribe_link", sa.Boolean(), nullable=False),
        sa.Column("reply_to", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_templates_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
    )
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.create_index("ix_templates_service_id_name", ["service_id", "name"], unique=False)

    op.create_table(
        "templates_history",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("template_type", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("postage", sa.String(length=16), nullable=True),
        sa.Column("process_type", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("has_unsubscribe_link", sa.Boolean(), nullable=False),
        sa.Column("reply_to", gaap.db.types.GUID(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_templates_history_service_id_services")),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_templates_history")),
    )


def downgrade() -> None:
    op.drop_table("templates_history")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_index("ix_templates_service_id_name")

    op.drop_table("templates")
    with op.batch_alter_table("service_sms_senders", schema=None) as batch_op:
        batch_op.drop_index("ix_service_sms_senders_service_id")

    op.drop_table("service_sms_senders")
    with op.batch_alter_table("service_letter_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_service_letter_contacts_service_id")

    op.drop_table("service_letter_contacts")
    with op.batch_alter_table("service_email_reply_to", schema=None) as batch_op:
        batch_op.drop_index("ix_service_email_reply_to_service_id")

    op.drop_table("service_email_reply_to")
    op.drop_table("service_data_retention")
    op.drop_table("service_allowed_recipients")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_status_next_attempt_at")
        batch_op.drop_index("ix_notifications_service_id_notification_type_created_at")
        batch_op.drop_index("ix_notifications_service_id_key_type_created_at")
        batch_op.drop_index("ix_notifications_service_id_created_at")
        batch_op.drop_index("ix_notifications_notification_type_status_created_at")

    op.drop_table("notifications")
    op.drop_table("services")

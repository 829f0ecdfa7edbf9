"""tenants, keys and audit

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:05:57.542005
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
        "admin_tokens",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_admin_tokens_secret_hash")),
    )
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    # The chain starts with a head row pointing at the genesis hash.
    op.bulk_insert(
        sa.table(
            "audit_chain",
            sa.column("id", sa.Integer),
            sa.column("last_seq", sa.BigInteger),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}],
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("occurred_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=True),
        sa.Column("service_id", sa.String(length=36), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_events_id")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action", ["action"], unique=False)
        batch_op.create_index("ix_audit_events_service_id_seq", ["service_id", "seq"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("archived_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index("uq_organisations_name_active", ["name"], unique=True)

    op.create_table(
        "services",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("organisation_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=False),
        sa.Column("pay_rate_tier", sa.String(length=16), nullable=False),
        sa.Column("archived_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name=op.f("fk_services_organisation_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("organisation_id", "name", name=op.f("uq_services_organisation_id_name")),
    )
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.create_index("ix_services_organisation_id", ["organisation_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_type", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret_encrypted", sa.String(length=255), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expiry_date", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_api_keys_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_service_id", ["service_id"], unique=False)
        batch_op.create_index("uq_api_keys_secret_hash", ["secret_hash"], unique=True)

    op.create_table(
        "team_members",
        sa.Column("id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("service_id", gaap.db.types.GUID(length=36), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mobile_number", sa.String(length=32), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("removed_at", gaap.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gaap.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_team_members_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index("ix_team_members_service_id_email", ["service_id", "email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index("ix_team_members_service_id_email")

    op.drop_table("team_members")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_api_keys_secret_hash")
        batch_op.drop_index("ix_api_keys_service_id")

    op.drop_table("api_keys")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_index("ix_services_organisation_id")

    op.drop_table("services")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index("uq_organisations_name_active")

    op.drop_table("organisations")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_service_id_seq")
        batch_op.drop_index("ix_audit_events_action")

    op.drop_table("audit_events")
    op.drop_table("audit_chain")
    op.drop_table("admin_tokens")

"""inbound sms: one row per provider message

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000

A provider posts an inbound text again when it did not hear our 200; the unique (provider, provider_reference)
lets the webhook store it once (`INSERT ... ON CONFLICT DO NOTHING`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.create_index(
            "uq_inbound_sms_provider_provider_reference", ["provider", "provider_reference"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_sms", schema=None) as batch_op:
        batch_op.drop_index("uq_inbound_sms_provider_provider_reference")

"""Webhooks, their messages (the outbox) and the delivery log (pay spec §12).

A message is written in the transaction of the payment change that causes it, so no event is lost or invented; it
is also the delivery job (`LeasedWork`), claimed with a lease by the `webhooks` lane. Its body is fixed when the
event happens (the resource "at event time", and one `webhook_message_id` across retries); only the signatures
are made afresh for each attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gaap.db.base import utcnow
from gaap.db.types import GUID, EncryptedText, UTCDateTime
from gaap.jobs import LeasedWork
from services.pay.formats import datetime_ms
from services.pay.models import Base
from services.pay.payments.models import SERIAL
from services.pay.settings import ENCRYPTION_BOX


class Webhook(Base):
    """One subscription of an account, keyed by its callback URL within the account (the gateway's pushes name
    webhooks by URL; pay gives each an ID of its own). Removed from a push, it turns `inactive`, so its message
    history stays readable."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(GUID(), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)
    callback_url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Subscribed `event_type`s.
    subscriptions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: The signing secret, sealed (it is needed in clear to sign), and during a rotation's 24 h overlap the one it
    #: replaced, which stays live until `previous_until` (§12.2).
    secret: Mapped[str] = mapped_column(EncryptedText(ENCRYPTION_BOX), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(EncryptedText(ENCRYPTION_BOX), nullable=True)
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(["service_id", "mode"], ["accounts.service_id", "accounts.mode"]),
        UniqueConstraint("service_id", "mode", "callback_url", name="uq_webhooks_account_callback_url"),
    )

    def live_secrets(self, now: datetime) -> list[str]:
        """Every secret a receiver may hold, newest first: one `v1` each in `Pay-Signature-V2`."""
        if self.previous_secret is not None and self.previous_until is not None and self.previous_until > now:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def legacy_secret(self, now: datetime) -> str:
        """`Pay-Signature` carries one signature only, so it keeps the old secret until the overlap ends (§12.2):
        a receiver that knows only `Pay-Signature` has 24 h to switch."""
        return self.live_secrets(now)[-1]


class WebhookMessage(LeasedWork, Base):
    """One message per (event, webhook): the outbox row and the delivery job."""

    __tablename__ = "webhook_messages"

    #: `webhook_message_id`.
    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(26), ForeignKey("webhooks.id"), nullable=False)
    payment_id: Mapped[str] = mapped_column(String(26), ForeignKey("payments.id"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(40), nullable=False)
    #: `PENDING`, `SUCCESSFUL`, `FAILED` or `WILL_NOT_SEND`.
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The exact bytes sent on every attempt (UTF-8 JSON), so retries and signatures cover the same body.
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    __table_args__ = (
        Index("ix_webhook_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_messages_webhook_id_created_at", "webhook_id", "created_at"),
        Index("ix_webhook_messages_created_at", "created_at"),
    )


class WebhookAttempt(Base):
    """The delivery log: one row per attempt, with its time, the HTTP status (if any answer came) and the reason
    it failed, shown to the account's admins for 7 days (§12)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(SERIAL, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(26), ForeignKey("webhook_messages.id"), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    success: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (Index("ix_webhook_attempts_message_id_id", "message_id", "id"),)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "attempt": self.attempt,
            "attempted_at": datetime_ms(self.attempted_at),
            "success": self.success,
        }
        if self.status_code is not None:
            body["status_code"] = self.status_code
        if self.error is not None:
            body["error"] = self.error
        return body

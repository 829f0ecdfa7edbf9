"""Sending confirmation emails (pay spec §13.1): the `send_confirmation_email` job on the `receipts` lane.

Pay sends them as any department would: through the platform's notify, reached through the gateway, with the SDK
(`gaap_client.AsyncNotifyClient`) and pay's own live Notify key (`PAY_NOTIFY_API_KEY`, the platform's "GaaP
payments" service). Its templates are its own, found by name or made on first use (`gaap.notify_templates`).

Each attempt is a leased claim of the outbox row, one send with no transaction open, then one transaction that
records the outcome. The send carries `Idempotency-Key: pay-confirmation-<payment id>`, so when notify took an
email but its answer was lost, the next attempt gets the same notification back instead of sending a second email.
When notify cannot be reached or answers 5xx or 429, the row is retried after `PAY_NOTIFY_RETRY_SECONDS` (30 s),
the pause doubling up to an hour, for `MAX_ATTEMPTS` attempts (about a day); a 400 (an address notify will not
send to) fails the row at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gaap_client import APIError, AsyncNotifyClient, GaapError, RetryPolicy

from gaap.db.base import utcnow
from gaap.db.engine import Database
from gaap.jobs import JobQueue, Sweep, claim, retry_at, transition
from gaap.logging import get_logger
from gaap.notify_templates import OwnTemplates
from gaap.settings import ConfigurationError
from services.pay.receipts.models import FAILED, PENDING, SENT, ConfirmationEmail
from services.pay.receipts.templates import template_specs
from services.pay.settings import PaySettings

log = get_logger("pay.receipts")
Ctx = dict[str, Any]

LANE = "receipts"
TASK = "send_confirmation_email"
MAX_ATTEMPTS = 30
LONGEST_PAUSE = timedelta(hours=1)
#: An attempt makes at most three calls to notify (list the templates, create one, send), each within the timeout.
CALLS_PER_ATTEMPT = 3


def lease(settings: PaySettings) -> timedelta:
    """Longer than an attempt can take, so a slow attempt is never joined by a second worker."""
    return timedelta(seconds=CALLS_PER_ATTEMPT * settings.notify_timeout_seconds + 30)


def check_lease(settings: PaySettings) -> None:
    """A worker that sends confirmation emails must let a job outlive an attempt's lease (sending none, no check)."""
    if settings.sends_confirmation_emails and settings.job_timeout_seconds <= lease(settings).total_seconds():
        raise ConfigurationError(
            f"PAY_JOB_TIMEOUT_SECONDS must be above a confirmation email's {lease(settings).total_seconds():g} s "
            "(three calls of PAY_NOTIFY_TIMEOUT_SECONDS, plus 30 s)"
        )


def pause_after(attempt: int, settings: PaySettings) -> timedelta:
    """The pause after failed attempt `attempt` (1-based): the first pause, doubled each time, at most an hour."""
    first = settings.notify_retry_seconds
    return min(timedelta(seconds=first * 2 ** min(attempt - 1, 20)), LONGEST_PAUSE)


def announce(settings: PaySettings, role: str) -> None:
    """Say at start-up whether confirmation emails are sent, and where."""
    if settings.sends_confirmation_emails:
        log.info("confirmation emails are sent through notify", role=role, notify=settings.notify_root)
    else:
        log.warning("confirmation emails are off: PAY_NOTIFY_API_KEY is not set", role=role)


class ConfirmationSender:
    """One notify client per worker process; the templates' ids are remembered once found or made."""

    def __init__(self, settings: PaySettings) -> None:
        self.client = AsyncNotifyClient(
            settings.notify_root,
            settings.notify_api_key.get_secret_value(),
            timeout=settings.notify_timeout_seconds,
            # The outbox retries, with its own schedule; one call per attempt here.
            retry=RetryPolicy(attempts=1),
        )
        self.specs = template_specs()
        self.templates = OwnTemplates()

    async def send(self, email: ConfirmationEmail) -> str:
        """Send one email; returns notify's notification id."""
        template_id = await self.templates.id_of(self.client, self.specs[email.language])
        sent = await self.client.send_email(
            email.email_address,
            template_id,
            personalisation=email.personalisation,
            reference=email.id,
            idempotency_key=f"pay-confirmation-{email.id}",
        )
        return str(sent["id"])

    async def close(self) -> None:
        await self.client.aclose()


async def _finish(
    db: Database,
    email: ConfirmationEmail,
    *,
    notification_id: str | None,
    error: str | None,
    final: bool,
    settings: PaySettings,
) -> datetime | None:
    """Record the attempt: `SENT` with notify's id, `FAILED`, or (returned) the time of the next attempt."""
    now = utcnow()
    async with db.write_session() as session:
        if notification_id is not None:
            await transition(
                session,
                ConfirmationEmail,
                email.id,
                from_status=PENDING,
                to_status=SENT,
                expected_attempt=email.attempt,
                notification_id=notification_id,
                sent_at=now,
                updated_at=now,
                error=None,
            )
            return None
        if final or email.attempt >= MAX_ATTEMPTS:
            await transition(
                session,
                ConfirmationEmail,
                email.id,
                from_status=PENDING,
                to_status=FAILED,
                expected_attempt=email.attempt,
                updated_at=now,
                error=error,
            )
            log.warning("confirmation email failed", payment_id=email.id, attempts=email.attempt, error=error)
            return None
        retry = now + pause_after(email.attempt, settings)
        await retry_at(
            session,
            ConfirmationEmail,
            email.id,
            status=PENDING,
            when=retry,
            error=error or "",
            expected_attempt=email.attempt,
            updated_at=now,
        )
    return retry


async def send_confirmation_email(ctx: Ctx, ident: str) -> None:
    db: Database = ctx["db"]
    settings: PaySettings = ctx["settings"]
    sender: ConfirmationSender | None = ctx.get("receipts")
    if sender is None:
        log.warning("a confirmation email waits: PAY_NOTIFY_API_KEY is not set in this worker", payment_id=ident)
        return
    async with db.write_session() as session:
        email = await claim(session, ConfirmationEmail, ident, expected_status=PENDING, lease=lease(settings))
        if email is None:
            return  # a duplicate job, or not due yet
    try:
        notification_id: str | None = await sender.send(email)
        error, final = None, False
    except GaapError as exc:
        notification_id, error = None, f"{type(exc).__name__}: {exc}"[:500]
        final = isinstance(exc, APIError) and exc.status_code == 400
    retry = await _finish(db, email, notification_id=notification_id, error=error, final=final, settings=settings)
    if retry is not None:
        jobs: JobQueue = ctx["jobs"]
        await jobs.enqueue(TASK, ident, lane=LANE, defer_until=retry)


def sweeps(grace: timedelta, every: timedelta) -> list[Sweep]:
    """Re-queue confirmation emails whose job was lost (Redis restarted, a worker crashed), once `grace` overdue."""
    return [Sweep("confirmation-emails", ConfirmationEmail, [PENDING], TASK, LANE, grace, every=every)]

"""Recording unsubscribe requests and batching them into reports (notify spec §13.3).

A request is recorded when the recipient follows notify's own link: a mail client's RFC 8058 one-click POST, or
the button on the unsubscribe page. The service then asks for a report: every request it has not yet been given,
batched once, so acting on reports in turn sees each request exactly once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.notify.formats import iso
from services.notify.unsubscribe import repository as repo
from services.notify.unsubscribe.links import LinkHolder
from services.notify.unsubscribe.models import UnsubscribeReport, UnsubscribeRequest


async def find_email(session: AsyncSession, holder: LinkHolder) -> Any:
    """The email the link came from, or None."""
    return await repo.sent_email(session, holder.notification_id)


async def record(session: AsyncSession, holder: LinkHolder, email: Any) -> None:
    """Record the request once per email; following the link again changes nothing."""
    await repo.insert_once(
        session,
        {
            "id": uuid.uuid4(),
            "service_id": email.service_id,
            "notification_id": holder.notification_id,
            "template_id": email.template_id,
            "template_version": email.template_version,
            "email_address": holder.email_address,
            "client_reference": email.client_reference,
            "notification_created_at": email.created_at,
            "created_at": utcnow(),
        },
    )


async def make_report(session: AsyncSession, service_id: uuid.UUID) -> UnsubscribeReport | None:
    """Batch every request not yet reported into a new report; None when there is none."""
    now = utcnow()
    report = UnsubscribeReport(
        id=uuid.uuid4(), service_id=service_id, count=0, earliest_at=now, latest_at=now, created_at=now
    )
    session.add(report)
    await session.flush()
    if await repo.claim_pending(session, service_id, report.id) == 0:
        await session.delete(report)
        await session.flush()
        return None
    count, earliest, latest = await repo.report_span(session, report.id)
    report.count, report.earliest_at, report.latest_at = count, earliest, latest
    await session.flush()
    return report


def report_json(report: UnsubscribeReport, requests: list[UnsubscribeRequest] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(report.id),
        "count": report.count,
        "earliest_timestamp": iso(report.earliest_at),
        "latest_timestamp": iso(report.latest_at),
        "created_at": iso(report.created_at),
    }
    if requests is not None:
        body["unsubscribe_requests"] = [
            {
                "email_address": r.email_address,
                "notification_id": str(r.notification_id),
                "template_id": str(r.template_id) if r.template_id else None,
                "template_version": r.template_version,
                "reference": r.client_reference,
                "notification_created_at": iso(r.notification_created_at),
                "unsubscribed_at": iso(r.created_at),
            }
            for r in requests
        ]
    return body

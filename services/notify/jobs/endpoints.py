"""Bulk sending's endpoints (notify spec §18.6): accept a job, follow its progress, cancel it while scheduled.

Accepting is one request: every row is checked, the job and its notifications are committed, today's counters are
incremented, and only then is the 201 sent. The queue is told afterwards, on the `bulk` lane, in a background task
(a doorbell, as for one-off sends): if that fails the rows are durable and the sweeper queues them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from gaap.db.base import utcnow
from gaap.db.deps import DbSession, ReadSession
from gaap.jobs import Enqueue, JobQueue
from services.notify import schemas
from services.notify.auth import NotifyCaller
from services.notify.jobs import service as bulk
from services.notify.limits import counters as limits
from services.notify.notifications.endpoints import ERRORS, _schedule_days
from services.notify.notifications.models import Notification
from services.notify.notifications.service import lane_for
from services.notify.validation import parse_json_body, parse_uuid, validate

router = APIRouter(tags=["jobs"], responses=ERRORS)
#: Jobs per Redis round trip when queueing a job's notifications.
ENQUEUE_CHUNK = 5000


async def enqueue(jobs: JobQueue, rows: list[Notification]) -> None:
    """Tell the queue, in chunks; a failure is logged by the queue and made good by the sweeper."""
    work = [Enqueue("deliver", row.id, lane_for(row.key_type, row.process_type), row.scheduled_for) for row in rows]
    for start in range(0, len(work), ENQUEUE_CHUNK):
        await jobs.enqueue_many(work[start : start + ENQUEUE_CHUNK])


@router.post("/v2/notifications/bulk", status_code=201, openapi_extra=schemas.openapi_request_body(schemas.POST_BULK))
async def send_bulk(request: Request, caller: NotifyCaller, background: BackgroundTasks) -> Any:
    """Send one template to every row of a CSV file or list of rows, as one job."""
    state = request.app.state
    data = parse_json_body(await request.body())
    validate(schemas.POST_BULK, data, schedule_days=_schedule_days(request, caller))
    accepted = await bulk.accept(state.sending, caller, data)
    await bulk.store(state.db, accepted)
    await state.counts.increment_many(limits.tally(accepted.notifications))
    background.add_task(enqueue, state.jobs, accepted.notifications)
    return JSONResponse({"data": bulk.job_json(accepted.job)}, status_code=201)


@router.get("/v2/jobs/{job_id}")
async def get_job(job_id: str, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """A job and its progress: its notifications counted by status."""
    return {"data": await bulk.progress(session, caller, parse_uuid(job_id, "job_id"), utcnow())}


@router.post("/v2/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, caller: NotifyCaller, session: DbSession) -> dict[str, Any]:
    """Cancel a scheduled job, and its notifications, before its time."""
    job = await bulk.cancel(session, caller, parse_uuid(job_id, "job_id"), utcnow())
    return {"data": bulk.job_json(job)}

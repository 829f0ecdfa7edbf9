"""GOV.UK Notify's v2 notification endpoints (notify spec §5, §6)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.app import request_id_of
from gaap.db.deps import DbSession, ReadSession
from gaap.errors import FAMILIES
from gaap.jobs import JobQueue
from services.notify import schemas
from services.notify.auth import NotifyCaller
from services.notify.documents.options import has_files
from services.notify.errors import NoResultFound, ValidationError
from services.notify.idempotency import service as idempotency
from services.notify.letters import service as letters
from services.notify.limits import counters as limits
from services.notify.notifications import repository as repo
from services.notify.notifications import service as sending
from services.notify.notifications.schemas import notification_json
from services.notify.validation import idempotency_key, parse_json_body, parse_uuid, validate, validated_query

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "ValidationError, BadRequestError, InvalidPhoneError or InvalidEmailError"},
    401: {"description": "AuthError"},
    403: {"description": "AuthError or BadRequestError"},
    404: {"description": "NoResultFound"},
    429: {"description": "RateLimitError or TooManyRequestsError"},
    503: {"description": "BadRequestError: a file sent by email could not be virus-scanned; safe to retry"},
}
router = APIRouter(tags=["notifications"], responses=ERRORS)
SENDERS = {"sms": sending.send_sms, "email": sending.send_email, "letter": sending.send_letter}
BODIES = {"sms": schemas.POST_SMS, "email": schemas.POST_EMAIL, "letter": schemas.POST_LETTER}


def _schedule_days(request: Request, caller: Any) -> int | None:
    settings = request.app.state.settings
    return settings.schedule_horizon_days if caller.service.has("schedule_notifications") else None


async def _enqueue(jobs: JobQueue, accepted: sending.Accepted) -> None:
    """After the commit. A failure is logged by the queue and made good by the worker's sweeper. A scheduled
    notification is deferred to its time."""
    notification = accepted.notification
    assert notification is not None
    assert accepted.lane is not None
    await jobs.enqueue(accepted.task, str(notification.id), lane=accepted.lane, defer_until=notification.scheduled_for)


async def _send(channel: str, request: Request, caller: Any, background: BackgroundTasks) -> Any:
    state = request.app.state
    data = parse_json_body(await request.body())
    claim = None
    try:
        key = idempotency_key(request.headers.get("idempotency-key"))
        if key is not None:
            claim = await idempotency.begin(
                state.db,
                service_id=caller.service.id,
                key_type=caller.key_type,
                path=request.url.path,
                key=key,
                body=data,
            )
    except (ValidationError, idempotency.IdempotencyConflict) as exc:
        # §18.9: these answers use the platform envelope.
        return FAMILIES["platform"].render(exc, request_id_of(request))
    if claim is not None and claim.replay is not None:
        return JSONResponse(claim.replay, status_code=201, headers={"Idempotent-Replayed": "true"})
    try:
        if claim is None and not _precompiled(channel, data) and not has_files(data):
            # The common case reads nothing from the database and shares its commit with concurrent sends (the
            # writer): answered once committed and counted; the writer tells the queue.
            accepted = await _accept(channel, request, caller, data)
            if accepted.notification is not None:
                await state.writer.store(accepted.notification)
            return JSONResponse(accepted.body, status_code=201)
        async with state.db.write_session() as session:  # committed when the block ends, before the answer
            accepted = await _accept(channel, request, caller, data, session)
            row = accepted.notification
            session.add_all(accepted.documents)  # files sent by email (§12) commit with their email
            if row is not None and not accepted.stored:
                session.add(row)  # with its key's record, in one transaction
                await session.flush()
                await state.counts.increment_many(limits.tally([row]))
            if claim is not None and row is not None:
                await idempotency.complete(session, claim, accepted.body, row.id)
    except Exception:
        if claim is not None:
            await idempotency.abandon(state.db, claim)
        raise
    if claim is not None and row is None:  # smoke-test recipients are not recorded
        background.add_task(idempotency.abandon, state.db, claim)
    if row is not None and accepted.lane is not None:
        background.add_task(_enqueue, state.jobs, accepted)
    return JSONResponse(accepted.body, status_code=201)


def _precompiled(channel: str, data: Any) -> bool:
    return channel == "letter" and isinstance(data, dict) and "content" in data


async def _accept(
    channel: str, request: Request, caller: Any, data: Any, session: AsyncSession | None = None
) -> sending.Accepted:
    state = request.app.state
    if channel == "letter":
        sending.check_letter_key(caller)
    await sending.check_daily_limit(state.counts, caller, channel)
    if _precompiled(channel, data):
        assert session is not None
        validate(schemas.POST_PRECOMPILED_LETTER, data)
        return await letters.accept_precompiled(session, state.counts, caller, data)
    validate(BODIES[channel], data, schedule_days=_schedule_days(request, caller))
    return await SENDERS[channel](state.sending, caller, data)


@router.post("/v2/notifications/sms", status_code=201, openapi_extra=schemas.openapi_request_body(schemas.POST_SMS))
async def send_sms(request: Request, caller: NotifyCaller, background: BackgroundTasks) -> Any:
    """Send a text message."""
    return await _send("sms", request, caller, background)


@router.post("/v2/notifications/email", status_code=201, openapi_extra=schemas.openapi_request_body(schemas.POST_EMAIL))
async def send_email(request: Request, caller: NotifyCaller, background: BackgroundTasks) -> Any:
    """Send an email."""
    return await _send("email", request, caller, background)


@router.post(
    "/v2/notifications/letter", status_code=201, openapi_extra=schemas.openapi_request_body(schemas.POST_LETTER)
)
async def send_letter(request: Request, caller: NotifyCaller, background: BackgroundTasks) -> Any:
    """Send a letter from a template, or a precompiled PDF."""
    return await _send("letter", request, caller, background)


@router.get("/v2/notifications/{notification_id}")
async def get_notification(
    notification_id: str, request: Request, caller: NotifyCaller, session: ReadSession
) -> dict[str, Any]:
    """One notification of the service, whichever key type sent it."""
    row = await repo.get(session, caller.service.id, parse_uuid(notification_id, "notification_id"))
    if row is None:
        raise NoResultFound()
    return notification_json(row, request.app.state.settings.public_root)


@router.get("/v2/notifications", openapi_extra=schemas.openapi_query_parameters(schemas.GET_NOTIFICATIONS_QUERY))
async def list_notifications(request: Request, caller: NotifyCaller, session: ReadSession) -> dict[str, Any]:
    """The service's notifications sent with the caller's key type, newest first, 250 a page."""
    query = validated_query(request.scope["query_string"], schemas.GET_NOTIFICATIONS_QUERY)
    older_than = parse_uuid(query["older_than"], "older_than") if query.get("older_than") else None
    rows = await repo.page(
        session,
        caller.service.id,
        caller.key_type,
        template_types=query.get("template_type"),
        statuses=query.get("status"),
        reference=query.get("reference"),
        older_than=older_than,
        include_jobs=str(query.get("include_jobs", "")).lower() == "true",
    )
    root = request.app.state.settings.public_root
    base = f"{root}v2/notifications"
    filters = [(k, v) for k, v in _pairs(request) if k != "older_than"]
    links = {"current": base + (f"?{urlencode(_pairs(request))}" if _pairs(request) else "")}
    if rows:
        links["next"] = f"{base}?{urlencode([*filters, ('older_than', str(rows[-1].id))])}"
    return {"notifications": [notification_json(row, root) for row in rows], "links": links}


def _pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


@router.post("/v2/notifications/{notification_id}/cancel")
async def cancel_notification(
    notification_id: str, request: Request, caller: NotifyCaller, session: DbSession
) -> dict[str, Any]:
    """Cancel a scheduled notification before it is sent (§18.2)."""
    row = await sending.cancel(session, caller, parse_uuid(notification_id, "notification_id"))
    return notification_json(row, request.app.state.settings.public_root)

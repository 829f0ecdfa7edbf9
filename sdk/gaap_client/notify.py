"""The Notify-compatible API (`/v2/*`): `NotifyClient` and `AsyncNotifyClient`, with the same methods.

A key is `{name}-{service_id}-{secret}`, as GOV.UK Notify's: each request carries a fresh HS256 token signed with the
secret, exactly as GOV.UK's own clients sign them.
"""

from __future__ import annotations

import base64
import time
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import jwt

from gaap_client._core import (
    AsyncClient,
    AsyncTransport,
    Call,
    Page,
    SyncClient,
    SyncTransport,
    operation,
    pages,
    read_bytes,
    read_json,
)
from gaap_client.types import (
    BulkJob,
    JobProgress,
    Notification,
    ReceivedText,
    SentEmail,
    SentLetter,
    SentSms,
    Template,
    TemplatePreview,
)

#: The length of the two parts a Notify key ends with: `-{service_id}-{secret}`.
_SECRET, _SERVICE = 36, 36


class NotifyKey:
    """A Notify API key, signing a token per request (`Authorization: Bearer <jwt>`)."""

    def __init__(self, key: str) -> None:
        if len(key) < _SECRET + _SERVICE + 2 or key[-_SECRET - 1] != "-" or key[-_SECRET - _SERVICE - 2] != "-":
            raise ValueError("not a Notify API key: it ends with -<service id>-<secret>")
        self.secret = key[-_SECRET:]
        self.service_id = key[-_SECRET - _SERVICE - 1 : -_SECRET - 1]

    def headers(self) -> dict[str, str]:
        token = jwt.encode({"iss": self.service_id, "iat": int(time.time())}, self.secret, algorithm="HS256")
        return {"Authorization": f"Bearer {token}"}


def _omit_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _read_notifications_page(params: dict[str, Any]) -> Any:
    def read(response: Any) -> Page[Notification]:
        body = response.json()
        items = cast(list[Notification], body["notifications"])
        nxt = body.get("links", {}).get("next")
        if not items or not nxt:
            return Page(items, None)
        # The next page is the same filters `older_than` the last item, as the link says.
        query = dict(parse_qsl(urlsplit(nxt).query))
        return Page(items, _notifications_call({**params, "older_than": query.get("older_than", items[-1]["id"])}))

    return read


def _notifications_call(params: dict[str, Any]) -> Call[Page[Notification]]:
    return Call("GET", "/v2/notifications", _read_notifications_page(params), params=params)


def _send_email(
    email_address: str,
    template_id: str,
    *,
    personalisation: dict[str, Any] | None = None,
    reference: str | None = None,
    email_reply_to_id: str | None = None,
    one_click_unsubscribe_url: str | None = None,
    scheduled_for: str | None = None,
    idempotency_key: str | None = None,
) -> Call[SentEmail]:
    """Send an email from a template (`POST /v2/notifications/email`)."""
    body = _omit_none(
        email_address=email_address,
        template_id=template_id,
        personalisation=personalisation,
        reference=reference,
        email_reply_to_id=email_reply_to_id,
        one_click_unsubscribe_url=one_click_unsubscribe_url,
        scheduled_for=scheduled_for,
    )
    return Call("POST", "/v2/notifications/email", read_json, json=body, idempotency_key=idempotency_key)


def _send_sms(
    phone_number: str,
    template_id: str,
    *,
    personalisation: dict[str, Any] | None = None,
    reference: str | None = None,
    sms_sender_id: str | None = None,
    scheduled_for: str | None = None,
    idempotency_key: str | None = None,
) -> Call[SentSms]:
    """Send a text message from a template (`POST /v2/notifications/sms`)."""
    body = _omit_none(
        phone_number=phone_number,
        template_id=template_id,
        personalisation=personalisation,
        reference=reference,
        sms_sender_id=sms_sender_id,
        scheduled_for=scheduled_for,
    )
    return Call("POST", "/v2/notifications/sms", read_json, json=body, idempotency_key=idempotency_key)


def _send_letter(
    template_id: str,
    personalisation: dict[str, Any],
    *,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> Call[SentLetter]:
    """Send a letter from a template; the personalisation holds the address (`address_line_1` ... `postcode`)."""
    body = _omit_none(template_id=template_id, personalisation=personalisation, reference=reference)
    return Call("POST", "/v2/notifications/letter", read_json, json=body, idempotency_key=idempotency_key)


def _send_precompiled_letter(
    reference: str, pdf: bytes, *, postage: str | None = None, idempotency_key: str | None = None
) -> Call[dict[str, Any]]:
    """Send a letter you made as a PDF (`POST /v2/notifications/letter` with `content`)."""
    body = _omit_none(reference=reference, content=base64.b64encode(pdf).decode("ascii"), postage=postage)
    return Call("POST", "/v2/notifications/letter", read_json, json=body, idempotency_key=idempotency_key)


def _get_notification(notification_id: str) -> Call[Notification]:
    """One notification of the service (`GET /v2/notifications/{id}`)."""
    return Call("GET", f"/v2/notifications/{notification_id}", read_json)


def _notifications(
    *,
    template_type: str | None = None,
    status: str | None = None,
    reference: str | None = None,
    older_than: str | None = None,
) -> Call[Page[Notification]]:
    """Every notification sent with this key's type, newest first, fetched a page (250) at a time."""
    return _notifications_call(
        _omit_none(template_type=template_type, status=status, reference=reference, older_than=older_than)
    )


def _letter_pdf(notification_id: str) -> Call[bytes]:
    """The PDF of a letter (`GET /v2/notifications/{id}/pdf`)."""
    return Call("GET", f"/v2/notifications/{notification_id}/pdf", read_bytes)


def _get_template(template_id: str) -> Call[Template]:
    """The latest version of a template."""
    return Call("GET", f"/v2/template/{template_id}", read_json)


def _get_template_version(template_id: str, version: int) -> Call[Template]:
    """One version of a template."""
    return Call("GET", f"/v2/template/{template_id}/version/{version}", read_json)


def _read_templates(response: Any) -> list[Template]:
    return cast(list[Template], response.json()["templates"])


def _templates(*, template_type: str | None = None) -> Call[list[Template]]:
    """Every template of the service (`GET /v2/templates`), optionally of one type."""
    return Call("GET", "/v2/templates", _read_templates, params=_omit_none(type=template_type))


def _preview_template(template_id: str, personalisation: dict[str, Any] | None = None) -> Call[TemplatePreview]:
    """A template rendered with this personalisation, without sending anything."""
    body = {"personalisation": personalisation or {}}
    return Call("POST", f"/v2/template/{template_id}/preview", read_json, json=body)


def _read_received_page(response: Any) -> Page[ReceivedText]:
    body = response.json()
    items = cast(list[ReceivedText], body["received_text_messages"])
    if not items or not body.get("links", {}).get("next"):
        return Page(items, None)
    return Page(items, _received_texts(older_than=items[-1]["id"]))


def _received_texts(*, older_than: str | None = None) -> Call[Page[ReceivedText]]:
    """Text messages received by the service, newest first, a page at a time."""
    return Call("GET", "/v2/received-text-messages", _read_received_page, params=_omit_none(older_than=older_than))


def _limits() -> Call[dict[str, Any]]:
    """What is left of today's limits and this key type's per-minute bucket (`GET /v2/limits`, a GaaP addition)."""
    return Call("GET", "/v2/limits", read_json)


def _cancel_notification(notification_id: str) -> Call[Notification]:
    """Cancel a scheduled notification before it is sent (a GaaP addition)."""
    return Call("POST", f"/v2/notifications/{notification_id}/cancel", read_json)


def _create_template(
    name: str,
    template_type: str,
    body: str,
    *,
    subject: str | None = None,
    process_type: str | None = None,
    postage: str | None = None,
    reply_to_id: str | None = None,
) -> Call[Template]:
    """Create a template (`POST /v2/manage-template`, a GaaP addition: the key needs the `manage_templates` scope).
    `template_type` is `email`, `sms` or `letter`; emails and letters need a `subject`."""
    payload = _omit_none(
        name=name,
        type=template_type,
        body=body,
        subject=subject,
        process_type=process_type,
        postage=postage,
        reply_to_id=reply_to_id,
    )
    return Call("POST", "/v2/manage-template", read_json, json=payload)


def _read_data(response: Any) -> Any:
    return response.json()["data"]


def _send_bulk(
    name: str,
    template_id: str,
    *,
    rows: list[list[str]] | None = None,
    csv: bytes | None = None,
    reply_to_id: str | None = None,
    scheduled_for: str | None = None,
    idempotency_key: str | None = None,
) -> Call[BulkJob]:
    """Send a template to every row of a CSV file (`csv`, its bytes) or a list of rows (`rows`, headers first), as
    one job (`POST /v2/notifications/bulk`, a GaaP addition). Every row is checked before anything is sent."""
    if (rows is None) == (csv is None):
        raise ValueError("give exactly one of rows or csv")
    body = _omit_none(
        name=name,
        template_id=template_id,
        rows=rows,
        csv=base64.b64encode(csv).decode("ascii") if csv is not None else None,
        reply_to_id=reply_to_id,
        scheduled_for=scheduled_for,
    )
    return Call("POST", "/v2/notifications/bulk", _read_data, json=body, idempotency_key=idempotency_key)


def _get_job(job_id: str) -> Call[JobProgress]:
    """A bulk job and its progress: its notifications counted by status (`GET /v2/jobs/{id}`)."""
    return Call("GET", f"/v2/jobs/{job_id}", _read_data)


def _cancel_job(job_id: str) -> Call[BulkJob]:
    """Cancel a scheduled bulk job before its time (`POST /v2/jobs/{id}/cancel`)."""
    return Call("POST", f"/v2/jobs/{job_id}/cancel", _read_data)


class _NotifyMethods:
    send_email = operation(_send_email)
    send_sms = operation(_send_sms)
    send_letter = operation(_send_letter)
    send_precompiled_letter = operation(_send_precompiled_letter)
    get_notification = operation(_get_notification)
    notifications = pages(_notifications)
    letter_pdf = operation(_letter_pdf)
    get_template = operation(_get_template)
    get_template_version = operation(_get_template_version)
    templates = operation(_templates)
    preview_template = operation(_preview_template)
    received_texts = pages(_received_texts)
    limits = operation(_limits)
    cancel_notification = operation(_cancel_notification)
    create_template = operation(_create_template)
    send_bulk = operation(_send_bulk)
    get_job = operation(_get_job)
    cancel_job = operation(_cancel_job)


class NotifyClient(_NotifyMethods, SyncClient):
    """`NotifyClient(base_url, api_key)`: every method returns the API's answer; listings are lazy iterators."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(SyncTransport(base_url, NotifyKey(api_key), **options))


class AsyncNotifyClient(_NotifyMethods, AsyncClient):
    """`AsyncNotifyClient(base_url, api_key)`: the same methods, awaited; listings are async iterators."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(AsyncTransport(base_url, NotifyKey(api_key), **options))

"""The notification object returned by GET (notify spec §6.1), built from the stored row."""

from __future__ import annotations

from typing import Any

from services.notify.delivery.print_days import estimated_delivery
from services.notify.formats import iso
from services.notify.notifications.models import Notification
from services.notify.statuses import LETTER_PUBLIC

#: £ per SMS fragment before the destination's multiplier (GOV.UK's published rate for 2024-25).
SMS_RATE = 0.0227
#: £ per sheet by postage, for cost reporting (GOV.UK's published letter prices, single-sheet rates).
LETTER_RATES = {"second": 0.54, "first": 0.86, "economy": 0.48, "europe": 1.44, "rest-of-world": 1.44}


def public_status(notification: Notification) -> str:
    if notification.notification_type == "letter":
        return LETTER_PUBLIC.get(notification.status, notification.status)
    return notification.status


def _cost(n: Notification) -> tuple[bool, float | None, dict[str, Any]]:
    details: dict[str, Any]
    if n.notification_type == "email":
        return True, 0.0, {}
    if n.notification_type == "sms":
        ready = n.status != "created" and n.billable_units > 0
        details = {
            "billable_sms_fragments": n.billable_units,
            "international_rate_multiplier": n.rate_multiplier,
            "sms_rate": SMS_RATE,
        }
        return ready, round(n.billable_units * n.rate_multiplier * SMS_RATE, 4) if ready else None, details
    ready = n.status not in ("created", "pending-virus-check") and n.billable_units > 0
    details = {"billable_sheets_of_paper": n.billable_units, "postage": n.postage}
    cost = round(n.billable_units * LETTER_RATES.get(n.postage or "second", 0.0), 2) if ready else None
    return ready, cost, details


def notification_json(n: Notification, root: str) -> dict[str, Any]:
    ready, cost, details = _cost(n)
    letter = n.notification_type == "letter"
    values = n.personalisation or {}
    lines = {f"line_{i}": (values.get(f"address_line_{i}") or None) if letter else None for i in range(1, 7)}
    body: dict[str, Any] = {
        "id": str(n.id),
        "reference": n.client_reference,
        "email_address": n.to if n.notification_type == "email" else None,
        "phone_number": n.to if n.notification_type == "sms" else None,
        **lines,
        "postcode": (values.get("postcode") or None) if letter else None,
        "type": n.notification_type,
        "status": public_status(n),
        "template": {
            "id": str(n.template_id) if n.template_id else None,
            "version": n.template_version,
            "uri": f"{root}v2/template/{n.template_id}/version/{n.template_version}",
        },
        "body": n.body,
        "subject": n.subject if n.notification_type != "sms" else None,
        "created_at": iso(n.created_at),
        "created_by_name": n.created_by_name,
        "sent_at": iso(n.sent_at),
        "completed_at": iso(n.completed_at),
        "scheduled_for": iso(n.scheduled_for),
        "postage": n.postage if letter else None,
        "one_click_unsubscribe_url": n.unsubscribe_link if n.notification_type == "email" else None,
        "is_cost_data_ready": ready,
        "cost_in_pounds": cost,
        "cost_details": details,
    }
    if letter:
        body["estimated_delivery"] = iso(estimated_delivery(n.created_at, n.postage or "second"))
    return body

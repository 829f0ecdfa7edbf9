"""Pay's webhooks in the service settings: adding one to the test or live account, removing one, and what pay
holds of each (its status, and its signing secret, of which only the end is ever shown).

Webhooks live in `settings["pay"][<mode>]["webhooks"]` (pay's service document, pay spec §3 and §12). Pay keys them
by URL, makes each one's signing secret itself and refuses what it could not deliver (an unknown event, a URL that
is not absolute, plain http on the live account, a URL twice); the refusal comes back on the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from gaap.internal import INTERNAL_SCOPE
from gaap.pages import PageError
from gateway.console.access import ServiceAccess
from gateway.console.settings_forms import Change, Field, FormErrors, Section
from gateway.console.upstream import ServiceApi
from gateway.tenants.models import Service

MODES = {"test": "Test account", "live": "Live account"}
#: Pay's webhook events (pay spec §12), as event → name.
EVENTS = {
    "card_payment_started": "Payment started",
    "card_payment_succeeded": "Payment succeeded",
    "card_payment_captured": "Payment captured",
    "card_payment_settled": "Payment settled",
    "card_payment_refunded": "Payment refunded",
    "card_payment_failed": "Payment failed",
    "card_payment_expired": "Payment expired",
    "card_payment_capturable": "Payment waiting to be captured",
}
CHOOSE_ACCOUNT = "Select the account"
ENTER_WEBHOOK_URL = "Enter the URL pay should call"
CHOOSE_EVENTS = "Select at least one event"
DESCRIPTION_LENGTH = "Enter a description of 255 characters or fewer"


def pay_settings(service: Service) -> dict[str, Any]:
    return dict((service.settings or {}).get("pay", {}))


def webhooks_of(service: Service, mode: str) -> list[dict[str, Any]]:
    return list((pay_settings(service).get(mode) or {}).get("webhooks", []))


def with_webhooks(service: Service, mode: str, hooks: list[dict[str, Any]]) -> dict[str, Any]:
    """Pay's settings with `mode`'s webhooks replaced by `hooks`."""
    settings = pay_settings(service)
    settings[mode] = {**(settings.get(mode) or {}), "webhooks": hooks}
    return settings


def _read(service: Service) -> dict[str, Any]:
    return {"mode": "test", "callback_url": "", "description": "", "subscriptions": []}


def _build(service: Service, form: Mapping[str, Any]) -> Change:
    errors: dict[str, str] = {}
    mode = str(form.get("mode", ""))
    if mode not in MODES:
        errors["mode"] = CHOOSE_ACCOUNT
    url = str(form.get("callback_url", "")).strip()
    if not url:
        errors["callback_url"] = ENTER_WEBHOOK_URL
    description = str(form.get("description", "")).strip()
    if len(description) > 255:
        errors["description"] = DESCRIPTION_LENGTH
    events = [e for e in form.get("subscriptions", []) if isinstance(e, str) and e]
    if not events:
        errors["subscriptions"] = CHOOSE_EVENTS
    if errors:
        raise FormErrors(errors)
    hook: dict[str, Any] = {"callback_url": url, "subscriptions": events, "active": True}
    if description:
        hook["description"] = description
    return Change(component_settings=with_webhooks(service, mode, [*webhooks_of(service, mode), hook]))


ADD_WEBHOOK = Section(
    "webhooks",
    "Add a Pay webhook",
    "pay",
    (
        Field("mode", "Which account’s payments?", "radios", options=tuple(MODES.items()), path="webhook.mode"),
        Field("callback_url", "Webhook URL", "url", "Pay posts each event here, signed.", "webhook.callback_url"),
        Field("description", "Description (optional)", "text", path="webhook.description"),
        Field(
            "subscriptions", "Events to send", "checkboxes", options=tuple(EVENTS.items()), path="webhook.subscriptions"
        ),
    ),
    _read,
    _build,
    hint="Live account webhooks must use https.",
)

TEXTS = [
    *MODES.values(),
    *EVENTS.values(),
    CHOOSE_ACCOUNT,
    ENTER_WEBHOOK_URL,
    CHOOSE_EVENTS,
    DESCRIPTION_LENGTH,
    ADD_WEBHOOK.title,
    ADD_WEBHOOK.hint,
    *(f.label for f in ADD_WEBHOOK.fields),
    *(f.hint for f in ADD_WEBHOOK.fields if f.hint),
]


def masked(secret: str) -> str:
    """The end of a signing secret, enough to tell which one a receiver holds, and its non-secret prefix."""
    prefix, _sep, _rest = secret.rpartition("_")
    return f"{prefix}_…{secret[-4:]}" if prefix else f"…{secret[-4:]}"


async def held_by_pay(request: Request, access: ServiceAccess) -> dict[str, dict[str, dict[str, Any]]] | None:
    """What pay holds of each account's webhooks, by mode and URL (status, masked secret); None if pay cannot
    be reached now (the page still shows the settings)."""
    held: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in MODES:
        api = ServiceApi(request, access, "pay", mode, frozenset({INTERNAL_SCOPE}))
        try:
            answer = await api.call("GET", f"/internal/services/{access.service.id}/accounts/{mode}/webhooks")
        except PageError:
            return None
        hooks = answer.body.get("webhooks", []) if answer.ok and isinstance(answer.body, dict) else []
        held[mode] = {
            h["callback_url"]: {"status": h.get("status", ""), "secret": masked(str(h.get("signing_secret", "")))}
            for h in hooks
        }
    return held

"""The signing secrets page: a service's admins see which secrets sign Notify's callbacks and Pay's webhooks, by
their ends; they can show them in full (audited) and rotate a callback's or a webhook's secret (the old one signs on
for a day).
The secrets come from the real notify and pay behind the gateway."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from gaap.pages.i18n import Catalogues, template_messages
from gateway.console import settings_secrets
from services.notify.callbacks.models import CallbackConfig
from tests.gateway.console.admin_support import audit_events, new_service, run
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_settings import CONSOLE, _notify_row, _path, _pay_webhooks, _signed_in, _token
from tests.identity.support import Person
from tests.notify.conftest import NotifyRig


@pytest.fixture
def admin(console_rig: ConsoleRig) -> Person:
    return console_rig.person()


@pytest.fixture
def service_id(console_rig: ConsoleRig, admin: Person) -> uuid.UUID:
    return new_service(console_rig, admin.email)


def _configure(browser: ConsoleBrowser, service_id: uuid.UUID) -> str:
    """A delivery-status callback and a test-account webhook; the webhook's URL."""
    saved = browser.submit(
        _path(service_id, "callbacks"),
        delivery_status_callback_url="https://callbacks.example.gov.uk/status",
        delivery_status_callback_token=f"token-{uuid.uuid4().hex}",
    )
    assert saved.status_code == 303, saved.text[:2000]
    add = _path(service_id, "webhooks/add")
    url = f"https://hooks.example.gov.uk/{uuid.uuid4().hex[:8]}"
    data = {
        "csrf_token": _token(browser, add),
        "mode": "test",
        "callback_url": url,
        "subscriptions": "card_payment_succeeded",
    }
    added = browser.client.post(add, data=data)
    assert added.status_code == 303, added.text[:2000]
    return url


def test_admin_sees_shows_and_rotates_signing_secrets(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    page = _path(service_id, "signing-secrets")
    assert "no callbacks or webhooks yet" in browser.get(page).text
    url = _configure(browser, service_id)
    assert page in browser.get(_path(service_id)).text  # the settings page links to it

    [callback] = run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id))
    [hook] = _pay_webhooks(console_rig, service_id, "test")
    masked = browser.get(page)
    assert masked.status_code == 200 and masked.headers["cache-control"] == "no-store"
    assert "Delivery status callback" in masked.text and "Pay webhook (Test account)" in masked.text
    assert f'<span class="govuk-!-text-break-word">{url}</span>' in masked.text
    assert f"…{callback.signing_secret[-4:]}" in masked.text and callback.signing_secret not in masked.text
    assert f"webhook_test_…{hook['signing_secret'][-4:]}" in masked.text and hook["signing_secret"] not in masked.text

    before = len(audit_events(console_rig, "service.signing_secrets_shown", service_id=str(service_id)))
    shown = browser.submit(page)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert callback.signing_secret in shown.text and hook["signing_secret"] in shown.text
    [(actor, _details)] = audit_events(console_rig, "service.signing_secrets_shown", service_id=str(service_id))[
        before:
    ]
    assert admin.email in actor

    rotated = browser.submit(page, action=f"{page}/rotate", mode="test", webhook_id=hook["webhook_id"])
    assert rotated.status_code == 303 and rotated.headers["location"] == f"{page}?rotated=1"
    assert "The old one keeps signing for 24 hours" in browser.get(rotated.headers["location"]).text
    [after] = _pay_webhooks(console_rig, service_id, "test")
    assert after["signing_secret"] != hook["signing_secret"] and after["previous_secret_expires"]
    [(_actor, details)] = audit_events(console_rig, "webhook.secret_rotated", service_id=str(service_id))[-1:]
    assert details == {"mode": "test", "callback_url": url}
    assert after["signing_secret"] not in str(details)

    notify_rotated = browser.submit(page, action=f"{page}/rotate", callback_type="delivery_status")
    assert notify_rotated.status_code == 303 and notify_rotated.headers["location"] == f"{page}?rotated=1"
    [fresh] = run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id))
    assert fresh.signing_secret != callback.signing_secret
    assert fresh.live_secrets(fresh.updated_at) == [fresh.signing_secret, callback.signing_secret]
    [(_actor, details)] = audit_events(console_rig, "callback.secret_rotated", service_id=str(service_id))[-1:]
    assert details == {"callback_type": "delivery_status", "url": "https://callbacks.example.gov.uk/status"}
    assert browser.submit(page, action=f"{page}/rotate", callback_type="inbound_sms").status_code == 404  # none set

    missing = browser.submit(page, action=f"{page}/rotate", mode="test", webhook_id="0" * 26)
    assert missing.status_code == 404
    assert (
        browser.submit(page, action=f"{page}/rotate", mode="sandbox", webhook_id=hook["webhook_id"]).status_code == 404
    )


def test_members_without_the_admin_role_are_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["manage_templates", "send_messages", "view_payments", "manage_api_keys"])
    page = f"/console/services/{console_rig.demo_service_id}/settings/signing-secrets"
    browser.sign_in_to_console(member, f"/console/services/{console_rig.demo_service_id}")
    assert browser.get(page).status_code == 403
    demo = f"/console/services/{console_rig.demo_service_id}"
    assert browser.post_with_token(page, demo).status_code == 403
    assert browser.post_with_token(f"{page}/rotate", demo, mode="test", webhook_id="x").status_code == 403


def test_welsh_is_complete_for_the_page() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "console").mkdir()
        shutil.copy(CONSOLE / "templates" / "console" / "signing_secrets.html", Path(tmp) / "console")
        used = set(template_messages([Path(tmp)])) | set(settings_secrets.TEXTS)
    welsh = Catalogues([CONSOLE / "locale"])
    assert sorted(text for text in used if welsh.gettext("cy", text) == text and text != "URL") == []

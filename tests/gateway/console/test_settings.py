"""Service settings in the console: each form saves through the gateway and is pushed to the component before the
page answers, so what the component refuses comes back on the form (GOV.UK error summary) and is not kept; secrets
(callback bearer tokens, webhook signing secrets) are never shown back; only a service's admins may change them."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gaap.db.engine import Database
from gaap.internal import INTERNAL_SCOPE
from gaap.pages.i18n import Catalogues, template_messages
from gaap.principal import Principal
from gateway.console import invitations as invitation_pages
from gateway.console import organisations, settings_forms, settings_webhooks, team
from gateway.console.settings_push import save
from gateway.invitations import email as invitation_email
from gateway.sync.models import REJECTED, TenantPush
from gateway.sync.settle import Verdict
from gateway.tenants.models import Service
from gateway.tenants.secrets import opened
from services.notify.callbacks.models import CallbackConfig
from services.notify.tenancy.models import DataRetention, NotifyService, SmsSender
from tests.gateway.console.admin_support import audit_events, dead_pusher, new_service, pushes, run, service, sweep
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.identity.support import Person
from tests.notify.conftest import NotifyRig

CONSOLE = Path(__file__).resolve().parents[3] / "gateway" / "console"
MY_TEMPLATES = [
    "organisations.html",
    "organisation.html",
    "name_form.html",
    "confirm_archive.html",
    "settings.html",
    "settings_form.html",
    "team.html",
    "invite.html",
    "role_choices.html",
    "member_roles.html",
    "remove_member.html",
    "invitation.html",
]


@pytest.fixture
def admin(console_rig: ConsoleRig) -> Person:
    return console_rig.person()


@pytest.fixture
def service_id(console_rig: ConsoleRig, admin: Person) -> uuid.UUID:
    return new_service(console_rig, admin.email)


def _path(service_id: uuid.UUID, section: str = "") -> str:
    return f"/console/services/{service_id}/settings" + (f"/{section}" if section else "")


async def _notify_row(db_url: str, model: Any, service_id: uuid.UUID) -> list[Any]:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:  # a read session's rollback would expire the rows
            return list((await session.scalars(select(model).where(model.service_id == service_id))).all())
    finally:
        await db.dispose()


def _notify_service(rig: NotifyRig, service_id: uuid.UUID) -> NotifyService:
    async def load() -> NotifyService:
        db = Database(rig.notify_db, pool_size=1)
        try:
            async with db.write_session() as session:  # a read session's rollback would expire the rows
                found = await session.get(NotifyService, service_id)
                assert found is not None
                return found
        finally:
            await db.dispose()

    result: NotifyService = run(load())
    return result


def _signed_in(browser: ConsoleBrowser, admin: Person, service_id: uuid.UUID) -> httpx.Response:
    return browser.sign_in_to_console(admin, _path(service_id))


def test_limits_and_mode_are_saved_and_reach_notify_before_the_page_answers(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    page = _signed_in(browser, admin, service_id)
    assert page.status_code == 200 and "Service settings" in page.text
    assert "Daily limits and rate limit" in page.text and "Notify’s default" in page.text

    form = browser.get(_path(service_id, "limits"))
    assert 'name="rate_limit"' in form.text and 'value="3000"' in form.text
    saved = browser.submit(
        _path(service_id, "limits"), email_limit="1,000", sms_limit="", letter_limit="20", rate_limit="500"
    )
    assert saved.status_code == 303 and saved.headers["location"] == _path(service_id) + "?saved=limits"
    # Delivered before the answer: notify already holds it.
    assert pushes(console_rig, service_id, "notify")[0] == ("delivered", None)
    held = _notify_service(notify_rig, service_id)
    assert (held.email_message_limit, held.letter_message_limit, held.rate_limit) == (1000, 20, 500)
    assert service(console_rig, service_id).settings["notify"] == {
        "email_message_limit": 1000,
        "letter_message_limit": 20,
    }
    assert "Settings saved" in browser.get(saved.headers["location"]).text

    live = browser.submit(_path(service_id, "mode"), mode="live")
    assert live.status_code == 303
    assert service(console_rig, service_id).restricted is False
    assert _notify_service(notify_rig, service_id).restricted is False
    actor = f"console:{admin.email}"
    changes = [details for who, details in audit_events(console_rig, "service.update", service_id=str(service_id))]
    assert {"restricted": False} in changes and {"rate_limit": 500} in changes
    assert all(who == actor for who, _ in audit_events(console_rig, "service.update", service_id=str(service_id)))


def test_what_notify_refuses_is_shown_on_the_form_and_not_kept(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    refused = browser.submit(_path(service_id, "senders"), reply_to="help@example.gov.uk", sms_sender="A!")
    assert refused.status_code == 400
    assert "Error: Reply-to addresses and text sender" in refused.text
    assert "govuk-error-summary" in refused.text and 'href="#sms_sender"' in refused.text
    assert "Notify did not accept this: String should have at least 3 characters" in refused.text
    assert 'value="A!"' in refused.text  # the admin's answer is kept on the form to correct
    assert "sms_sender" not in service(console_rig, service_id).settings.get("notify", {})  # and not in the gateway
    assert "help@example.gov.uk" not in str(service(console_rig, service_id).settings)
    assert (
        audit_events(console_rig, "service.update_refused", service_id=str(service_id))[-1][1]["component"] == "notify"
    )

    retention = browser.submit(
        _path(service_id, "retention"), retention_email="", retention_sms="200", retention_letter=""
    )
    assert retention.status_code == 400
    assert "Notify did not accept this: data retention must be between 3 and 90 days" in retention.text
    assert 'href="#retention_sms"' in retention.text  # beside the field that was changed

    welsh = browser.submit(_path(service_id, "senders") + "?lang=cy", reply_to="", sms_sender="A!")
    assert "Ni wnaeth Notify dderbyn hyn" in welsh.text

    ok = browser.submit(
        _path(service_id, "senders"), reply_to="help@example.gov.uk\nother@example.gov.uk", sms_sender="COUNCIL"
    )
    assert ok.status_code == 303
    senders = run(_notify_row(notify_rig.notify_db, SmsSender, service_id))
    assert [s.sms_sender for s in senders] == ["COUNCIL"]
    ok = browser.submit(_path(service_id, "retention"), retention_email="30", retention_sms="", retention_letter="")
    assert ok.status_code == 303
    kept = run(_notify_row(notify_rig.notify_db, DataRetention, service_id))
    assert [(r.notification_type, r.days_of_retention) for r in kept] == [("email", 30)]
    summary = browser.get(_path(service_id)).text
    assert "help@example.gov.uk, other@example.gov.uk" in summary and "COUNCIL" in summary


def test_the_form_itself_checks_only_what_it_must_turn_into_settings(
    browser: ConsoleBrowser, console_rig: ConsoleRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    before = len(pushes(console_rig, service_id, "notify"))
    bad = browser.submit(_path(service_id, "limits"), email_limit="lots", sms_limit="", letter_limit="", rate_limit="")
    assert bad.status_code == 400
    assert "Enter a whole number, like 1000" in bad.text and "Enter how many messages a minute" in bad.text
    assert len(pushes(console_rig, service_id, "notify")) == before  # nothing saved, nothing pushed
    rate = browser.submit(_path(service_id, "limits"), email_limit="", sms_limit="", letter_limit="", rate_limit="0")
    assert rate.status_code == 400 and "Enter a number of messages a minute from 1 to 1,000,000" in rate.text
    reply = browser.submit(_path(service_id, "senders"), reply_to="not an address", sms_sender="")
    assert reply.status_code == 400 and "Enter each reply-to address in the correct format" in reply.text
    mode = browser.submit(_path(service_id, "mode"))
    assert mode.status_code == 400 and "Select trial mode or live" in mode.text
    assert browser.get(_path(service_id, "nothing-here")).status_code == 404


def test_callback_tokens_are_never_shown_back(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    token = f"token-{uuid.uuid4().hex}"
    missing = browser.submit(
        _path(service_id, "callbacks"),
        delivery_status_callback_url="https://callbacks.example.gov.uk/status",
        delivery_status_callback_token="",
    )
    assert missing.status_code == 400 and "Enter a bearer token for this callback" in missing.text

    saved = browser.submit(
        _path(service_id, "callbacks"),
        delivery_status_callback_url="https://callbacks.example.gov.uk/status",
        delivery_status_callback_token=token,
    )
    assert saved.status_code == 303
    configs = run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id))
    assert [(c.callback_type, c.url, c.bearer_token) for c in configs] == [
        ("delivery_status", "https://callbacks.example.gov.uk/status", token)  # opened on its way to notify
    ]
    assert token not in run(_gateway_rows_as_text(console_rig, service_id))  # sealed in settings and pushes
    summary = browser.get(_path(service_id))
    assert "https://callbacks.example.gov.uk/status" in summary.text and "A bearer token is set" in summary.text
    form = browser.get(_path(service_id, "callbacks"))
    assert token not in summary.text and token not in form.text
    updates = audit_events(console_rig, "service.update", service_id=str(service_id))
    assert token not in str(updates) and "[redacted]" in str(updates)

    # A new URL with the token left blank keeps the token.
    moved = browser.submit(
        _path(service_id, "callbacks"),
        delivery_status_callback_url="https://callbacks.example.gov.uk/v2/status",
        delivery_status_callback_token="",
    )
    assert moved.status_code == 303
    held = service(console_rig, service_id).settings["notify"]["delivery_status_callback"]
    assert held["url"] == "https://callbacks.example.gov.uk/v2/status"
    assert held["bearer_token"].startswith("sealed:") and opened(held)["bearer_token"] == token
    configs = run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id))
    assert [(c.url, c.bearer_token) for c in configs] == [("https://callbacks.example.gov.uk/v2/status", token)]

    other_token = f"other-{uuid.uuid4().hex}"
    refused = browser.submit(
        _path(service_id, "callbacks"),
        delivery_status_callback_url="https://callbacks.example.gov.uk/v2/status",
        inbound_sms_callback_url="http://callbacks.example.gov.uk/inbound",
        inbound_sms_callback_token=other_token,
    )
    assert refused.status_code == 400
    assert (
        "Notify did not accept this: callback URL" in refused.text
        and 'href="#inbound_sms_callback_url"' in refused.text
    )
    assert other_token not in refused.text
    assert "inbound_sms_callback" not in service(console_rig, service_id).settings["notify"]

    cleared = browser.submit(
        _path(service_id, "callbacks"), delivery_status_callback_url="", delivery_status_callback_token=""
    )
    assert cleared.status_code == 303
    assert run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id)) == []


async def _gateway_rows_as_text(rig: ConsoleRig, service_id: uuid.UUID) -> str:
    """The service's settings and its push documents as the gateway's database holds them."""
    db = Database(rig.gateway_db, pool_size=1)
    try:
        async with db.read_session() as session:
            settings = await session.scalars(select(Service.settings).where(Service.id == service_id))
            documents = await session.scalars(select(TenantPush.document).where(TenantPush.service_id == service_id))
            return " ".join(str(value) for value in [*settings, *documents])
    finally:
        await db.dispose()


def _pay_webhooks(rig: ConsoleRig, service_id: uuid.UUID, mode: str) -> list[dict[str, Any]]:
    """Pay's own view of an account's webhooks, with the full signing secrets, as the gateway may ask for it."""
    principal = Principal(request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=frozenset({INTERNAL_SCOPE}))
    headers = {"X-Gaap-Principal": rig.settings.principal_signer().sign("pay", principal)}
    answer = httpx.get(
        f"{rig.settings.pay_url}/internal/services/{service_id}/accounts/{mode}/webhooks", headers=headers
    )
    assert answer.status_code == 200, answer.text
    hooks: list[dict[str, Any]] = answer.json()["webhooks"]
    return hooks


def test_pay_webhooks_are_added_refused_and_removed(
    browser: ConsoleBrowser, console_rig: ConsoleRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    add = _path(service_id, "webhooks/add")
    form = browser.get(add)
    assert "Payment succeeded" in form.text and "Which account’s payments?" in form.text
    url = "https://hooks.example.gov.uk/pay-events"
    browser.last = browser.client.post(
        add,
        data={
            "csrf_token": _token(browser, add),
            "mode": "test",
            "callback_url": url,
            "description": "Back office",
            "subscriptions": ["card_payment_succeeded", "card_payment_refunded"],
        },
    )
    assert browser.last.status_code == 303 and browser.last.headers["location"] == _path(service_id) + "?saved=webhooks"
    [hook] = _pay_webhooks(console_rig, service_id, "test")
    assert hook["callback_url"] == url and hook["status"] == "active"
    secret = hook["signing_secret"]
    page = browser.get(browser.last.headers["location"]).text
    assert "Webhook added" in page and url in page and "Payment succeeded, Payment refunded" in page
    assert f"webhook_test_…{secret[-4:]}" in page and secret not in page

    live = browser.submit(
        add, mode="live", callback_url="http://hooks.example.gov.uk/live", subscriptions="card_payment_failed"
    )
    assert live.status_code == 400
    assert "Pay did not accept this: a live webhook callback URL must use https" in live.text
    assert 'href="#callback_url"' in live.text
    assert "live" not in service(console_rig, service_id).settings["pay"]
    assert _pay_webhooks(console_rig, service_id, "live") == []
    nothing = browser.submit(add, mode="test", callback_url="", subscriptions="")
    assert nothing.status_code == 400
    summary = re.findall(r"govuk-error-summary__list.*?</ul>", nothing.text, re.S)
    assert "Enter the URL pay should call" in nothing.text, summary
    assert "Select at least one event" in nothing.text, summary

    removed = browser.submit(
        _path(service_id), action=_path(service_id, "webhooks/remove"), mode="test", callback_url=url
    )
    assert removed.status_code == 303
    assert "Webhook removed" in browser.get(removed.headers["location"]).text
    assert service(console_rig, service_id).settings["pay"]["test"]["webhooks"] == []
    assert [h["status"] for h in _pay_webhooks(console_rig, service_id, "test")] == ["inactive"]
    missing = browser.submit(
        _path(service_id), action=_path(service_id, "webhooks/remove"), mode="test", callback_url=url
    )
    assert missing.status_code == 404


def _token(browser: ConsoleBrowser, page: str) -> str:
    from tests.gateway.console.conftest import CSRF

    found = CSRF.search(browser.client.get(page).text)
    assert found
    return found.group(1)


async def _refuse_latest(db_url: str, service_id: uuid.UUID) -> None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            session.add(
                TenantPush(
                    id=uuid.uuid4(),
                    component="notify",
                    path=f"/internal/services/{service_id}",
                    service_id=service_id,
                    version=2**62,
                    document={},
                    status=REJECTED,
                    last_error='{"error": "BadRequest", "message": "settings.sms_sender: too long", "request_id": "r"}',
                )
            )
    finally:
        await db.dispose()


def test_a_refusal_that_came_later_is_shown_on_the_settings_page(
    browser: ConsoleBrowser, console_rig: ConsoleRig, admin: Person, service_id: uuid.UUID
) -> None:
    run(_refuse_latest(console_rig.gateway_db, service_id))
    page = _signed_in(browser, admin, service_id)
    assert "Notify refused the latest change to this service: too long" in page.text


def test_notify_unreachable_keeps_the_change_and_a_later_refusal_is_shown(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    """Notify down: the setting stays saved with its push pending and the page says it will follow; the sweeper
    delivers it later, notify refuses it then, and the settings page shows that refusal until a good change."""

    change = settings_forms.SECTIONS["senders"].build(service(console_rig, service_id), {"sms_sender": "A!"})

    async def save_with_notify_down() -> Verdict | None:
        db = Database(console_rig.gateway_db, pool_size=2)
        pusher = dead_pusher(db, "notify")
        try:
            return await save(db, pusher, service_id, "notify", change, actor=f"console:{admin.email}")
        finally:
            await pusher.close()
            await db.dispose()

    verdict = run(save_with_notify_down())
    assert verdict is not None and verdict.pending and "ClientConnectorError" in verdict.message
    assert service(console_rig, service_id).settings["notify"]["sms_sender"] == "A!"  # kept, to be delivered
    [(status, error), *_older] = pushes(console_rig, service_id, "notify")
    assert status == "pending" and error is not None
    assert audit_events(console_rig, "service.update_refused", service_id=str(service_id)) == []
    page = _signed_in(browser, admin, service_id)
    assert "refused the latest change" not in page.text
    waiting = browser.get(_path(service_id) + "?saved=senders&waiting=notify")
    assert "Notify could not be reached just now. It will get the change as soon as it can" in waiting.text

    assert sweep(console_rig, service_id).get("rejected") == 1
    later = browser.get(_path(service_id))
    assert "Notify refused the latest change to this service: String should have at least 3 characters" in later.text

    fixed = browser.submit(_path(service_id, "senders"), reply_to="", sms_sender="LICENCES")
    assert fixed.status_code == 303 and "waiting" not in fixed.headers["location"]
    assert [s.sms_sender for s in run(_notify_row(notify_rig.notify_db, SmsSender, service_id))] == ["LICENCES"]
    assert "refused the latest change" not in browser.get(_path(service_id)).text


def test_members_without_the_admin_role_are_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(
        ["manage_templates", "send_messages", "view_payments", "refund_payments", "manage_api_keys"]
    )
    demo = f"/console/services/{console_rig.demo_service_id}"
    shown = browser.sign_in_to_console(member, demo)
    assert f"{demo}/settings" not in shown.text
    for path in (f"{demo}/settings", f"{demo}/settings/limits", f"{demo}/settings/webhooks/add"):
        assert browser.get(path).status_code == 403, path
    for path in (
        f"{demo}/settings/limits",
        f"{demo}/settings/mode",
        f"{demo}/settings/webhooks/add",
        f"{demo}/settings/webhooks/remove",
    ):
        refused = browser.post_with_token(path, demo, rate_limit="1", mode="live", callback_url="https://x.example")
        assert refused.status_code == 403 and "You cannot view this page" in refused.text, path
    assert service(console_rig, console_rig.demo_service_id).restricted is False


def test_welsh_is_complete_for_these_pages() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "console"
        folder.mkdir()
        for name in MY_TEMPLATES:
            shutil.copy(CONSOLE / "templates" / "console" / name, folder / name)
        used = set(template_messages([Path(tmp)]))
    used |= {*settings_forms.TEXTS, *settings_webhooks.TEXTS, *team.TEXTS, *invitation_pages.TEXTS}
    used |= {*organisations.NAME_ERRORS.values(), invitation_email.SUBJECT, *invitation_email.PARAGRAPHS}
    welsh = Catalogues([CONSOLE / "locale"])
    assert sorted(text for text in used if welsh.gettext("cy", text) == text and text not in {"URL", "((link))"}) == []


def test_a_returned_letter_callback_reaches_notify(
    browser: ConsoleBrowser, console_rig: ConsoleRig, notify_rig: NotifyRig, admin: Person, service_id: uuid.UUID
) -> None:
    _signed_in(browser, admin, service_id)
    form = browser.get(_path(service_id, "callbacks"))
    assert "Returned letter callback URL" in form.text
    token = f"letters-{uuid.uuid4().hex}"
    saved = browser.submit(
        _path(service_id, "callbacks"),
        returned_letter_callback_url="https://callbacks.example.gov.uk/returned",
        returned_letter_callback_token=token,
    )
    assert saved.status_code == 303, saved.text[:2000]
    configs = run(_notify_row(notify_rig.notify_db, CallbackConfig, service_id))
    assert [(c.callback_type, c.url, c.bearer_token) for c in configs] == [
        ("returned_letter", "https://callbacks.example.gov.uk/returned", token)
    ]
    summary = browser.get(_path(service_id)).text
    assert "https://callbacks.example.gov.uk/returned" in summary and token not in summary

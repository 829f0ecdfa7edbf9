"""API keys in the console: create (shown once), use, revoke (after confirming), last used; each change audited
with the admin as the actor; refused to members without the role."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx

from gaap.db.engine import Database
from gateway.audit import service as audit
from gateway.keys import repository as key_repo
from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig, new_key_from


def _keys_path(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/api-keys"


async def _audit(db_url: str, service_id: uuid.UUID, action: str) -> list[tuple[str, dict[str, object]]]:
    db = Database(db_url, pool_size=1)
    try:
        async with db.read_session() as session:
            events = await audit.search(session, service_id=str(service_id), action=action)
            return [(e.actor, e.details) for e in events]
    finally:
        await db.dispose()


async def _touch(db_url: str, service_id: uuid.UUID, name: str, when: datetime) -> None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            key = next(k for k in await key_repo.keys_of_service(session, service_id) if k.name == name)
            await key_repo.touch_keys(session, {key.id: when})
    finally:
        await db.dispose()


def _pay_status(rig: ConsoleRig, key: str) -> int:
    return httpx.get(f"{rig.url}/v1/payments", headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code


def test_admin_creates_uses_and_revokes_a_pay_key(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    browser.sign_in_to_console(admin, f"/console/services/{console_rig.demo_service_id}")
    keys_path = _keys_path(console_rig)
    assert keys_path in browser.last.text  # type: ignore[union-attr]
    name = f"Case system {uuid.uuid4().hex[:6]}"
    created = browser.submit(keys_path + "/create", kind="pay:test", name=name)
    assert created.status_code == 200
    assert "New API key" in created.text and "You will not be able to see it again." in created.text
    full = new_key_from(created.text)
    assert full.startswith("api_test_") and len(full) == 67
    assert _pay_status(console_rig, full) == 200  # the gateway accepts it and forwards to pay

    listing = browser.get(keys_path)
    assert name in listing.text and full not in listing.text  # shown once, never again
    assert "Never" in listing.text
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    asyncio.run(_touch(console_rig.gateway_db, console_rig.demo_service_id, name, when))
    assert "2026-11-20 09:30 UTC" in browser.get(keys_path).text

    key_id = _keys(console_rig)[name]
    confirm = browser.get(f"{keys_path}/{key_id}/revoke")
    assert confirm.status_code == 200 and f"Are you sure you want to revoke ‘{name}’?" in confirm.text
    revoked = browser.submit(f"{keys_path}/{key_id}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"] == f"{keys_path}?revoked={key_id}"
    banner = browser.get(revoked.headers["location"])
    assert f"API key ‘{name}’ revoked" in banner.text
    deadline = time.monotonic() + 10
    while _pay_status(console_rig, full) != 401:  # every gateway process hears of it (at worst, its cache expires)
        assert time.monotonic() < deadline
        time.sleep(0.2)

    actor = f"console:{admin.email}"
    created_events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "api_key.create"))
    assert (actor, {"api": "pay", "name": name, "key_type": "test", "scopes": ["pay"]}) in created_events
    revoked_events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "api_key.revoke"))
    assert (actor, {"api": "pay", "name": name}) in revoked_events


def _keys(rig: ConsoleRig) -> dict[str, uuid.UUID]:
    """The demo service's key ids by name."""

    async def load() -> dict[str, uuid.UUID]:
        db = Database(rig.gateway_db, pool_size=1)
        try:
            async with db.read_session() as session:
                return {k.name: k.id for k in await key_repo.keys_of_service(session, rig.demo_service_id)}
        finally:
            await db.dispose()

    return asyncio.run(load())


def test_notify_key_has_notifys_format(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _keys_path(console_rig))
    created = browser.submit(_keys_path(console_rig) + "/create", kind="notify:team", name="Team key one")
    full = new_key_from(created.text)
    assert full.startswith(f"Team_key_one-{console_rig.demo_service_id}-") and len(full.rsplit("-", 5)[-5:]) == 5


def test_the_form_explains_what_is_wrong(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _keys_path(console_rig))
    create = _keys_path(console_rig) + "/create"
    no_kind = browser.submit(create, name="Something")
    assert no_kind.status_code == 400
    assert "Error: Create an API key" in no_kind.text and "Select the kind of key" in no_kind.text
    assert 'value="Something"' in no_kind.text
    blank = browser.submit(create, kind="pay:test", name="   ")
    assert blank.status_code == 400 and "Enter a name for the key" in blank.text
    name = f"Twice {uuid.uuid4().hex[:6]}"
    assert browser.submit(create, kind="pay:test", name=name).status_code == 200
    again = browser.submit(create, kind="pay:test", name=name)
    assert again.status_code == 400 and "The service already has a key with this name" in again.text
    welsh = browser.submit(create + "?lang=cy", kind="pay:test", name="")
    assert "Rhowch enw ar gyfer yr allwedd" in welsh.text


def test_forms_need_their_csrf_token(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _keys_path(console_rig))
    refused = browser.client.post(_keys_path(console_rig) + "/create", data={"kind": "pay:test", "name": "x"})
    assert refused.status_code == 403 and "Sorry, we could not accept your form" in refused.text


def test_a_member_without_the_role_is_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["send_messages", "view_payments"])
    service = browser.sign_in_to_console(member, f"/console/services/{console_rig.demo_service_id}")
    assert service.status_code == 200
    assert "Send messages, View payments" in service.text
    assert _keys_path(console_rig) not in service.text
    assert browser.get(_keys_path(console_rig)).status_code == 403
    assert browser.get(_keys_path(console_rig) + "/create").status_code == 403
    refused = browser.post_with_token(
        _keys_path(console_rig) + "/create", f"/console/services/{console_rig.demo_service_id}", kind="pay:test"
    )
    assert refused.status_code == 403 and "You cannot view this page" in refused.text


def test_a_manage_api_keys_member_may(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["manage_api_keys"])
    page = browser.sign_in_to_console(member, _keys_path(console_rig))
    assert page.status_code == 200 and "Create an API key" in page.text


def test_services_the_admin_does_not_work_on_are_not_found(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin())
    for path in (
        f"/console/services/{console_rig.console_service_id}",
        f"/console/services/{console_rig.console_service_id}/api-keys",
        f"/console/services/{uuid.uuid4()}",
        f"{_keys_path(console_rig)}/{uuid.uuid4()}/revoke",
    ):
        response = browser.get(path)
        assert response.status_code == 404, path
        assert "Page not found" in response.text

"""The gateway's admin API and the audit log it writes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from sqlalchemy import select, update

from gaap.db.engine import Database
from gateway.audit.models import AuditEvent
from gateway.audit.service import verify
from gateway.settings import GatewaySettings
from gateway.tenants.models import Service
from gateway.tenants.secrets import opened, redacted, same_settings, sealed
from tests.gateway.conftest import GatewayRig


def admin(rig: GatewayRig) -> httpx.Client:
    return httpx.Client(base_url=f"{rig.url}/console/api/v1", headers={"Authorization": f"Bearer {rig.admin_token}"})


def test_requires_an_admin_token(rig: GatewayRig) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer gaap_admin_nope"},
        {"Authorization": "Bearer " + rig.tenant.keys["pay_test"]},
    ):
        response = httpx.get(f"{rig.url}/console/api/v1/organisations", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_tenant_lifecycle_and_key_revocation(rig: GatewayRig) -> None:
    with admin(rig) as api:
        org = api.post("/organisations", json={"name": f"Dept {uuid.uuid4().hex[:6]}"}).json()
        dup = api.post("/organisations", json={"name": org["name"]})
        assert dup.status_code == 409 and dup.json()["error"] == "OrganisationExists"
        svc = api.post("/services", json={"organisation_id": org["id"], "name": "Apply for a thing"}).json()
        assert svc["restricted"] is True

        # A trial service cannot have a live Notify key.
        refused = api.post(f"/services/{svc['id']}/keys", json={"api": "notify", "name": "live", "key_type": "normal"})
        assert refused.status_code == 409 and refused.json()["error"] == "TrialMode"
        assert api.patch(f"/services/{svc['id']}", json={"restricted": False}).json()["restricted"] is False

        created = api.post(f"/services/{svc['id']}/keys", json={"api": "notify", "name": "live", "key_type": "normal"})
        assert created.status_code == 201
        full_key = created.json()["key"]
        assert full_key[-73:-37] == svc["id"]
        listed = api.get(f"/services/{svc['id']}/keys").json()
        assert all("key" not in k and "secret" not in str(k) for k in listed)

        client = NotificationsAPIClient(full_key, base_url=rig.url)
        assert client.get("/v2/notifications")["principal"]["key_type"] == "normal"

        revoked = api.post(f"/services/{svc['id']}/keys/{created.json()['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["expiry_date"]
        # The revocation is announced to every gateway process: no waiting for the cache to expire.
        for _ in range(50):
            try:
                client.get("/v2/notifications")
            except HTTPError as exc:
                assert exc.message == [{"error": "AuthError", "message": "Invalid token: API key revoked"}]
                break
            asyncio.run(asyncio.sleep(0.05))
        else:
            raise AssertionError("revoked key still accepted")

        member = api.post(f"/services/{svc['id']}/members", json={"email": "Ada@Example.gov.uk", "roles": ["admin"]})
        assert member.status_code == 201 and member.json()["email"] == "ada@example.gov.uk"
        bad_role = api.post(f"/services/{svc['id']}/members", json={"email": "b@example.gov.uk", "roles": ["god"]})
        assert bad_role.status_code == 400 and bad_role.json()["error"] == "InvalidRole"
        assert api.delete(f"/services/{svc['id']}/members/{member.json()['id']}").status_code == 204

        archived = api.post(f"/services/{svc['id']}/archive").json()
        assert archived["active"] is False

        events = api.get("/audit/events", params={"service_id": svc["id"]}).json()
        actions = [e["action"] for e in events]
        assert actions[0] == "service.archive"
        assert {
            "service.create",
            "service.update",
            "api_key.create",
            "api_key.revoke",
            "member.add",
            "member.remove",
        } <= set(actions)
        assert all(e["actor"] == "admin-token:tests" for e in events)
        assert api.get("/audit/verify").json()["ok"] is True


def test_unknown_ids_and_bad_bodies(rig: GatewayRig) -> None:
    with admin(rig) as api:
        missing = api.get(f"/services/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["error"] == "ServiceNotFound"
        bad = api.post("/services", json={"organisation_id": "nope", "name": "x"})
        assert bad.status_code == 400 and "organisation_id" in bad.json()["message"]
        extra = api.post("/organisations", json={"name": "x", "colour": "red"})
        assert extra.status_code == 400
        assert api.get("/services/not-a-uuid").status_code == 400


def test_tampering_with_the_audit_log_is_detected(rig: GatewayRig) -> None:
    async def work() -> tuple[bool, bool, int | None]:
        db = Database(rig.db_url, pool_size=1)
        try:
            async with db.read_session() as session:
                before = await verify(session)
            async with db.write_session() as session:
                await session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="someone else"))
                after = await verify(session)
                await session.rollback()
            return before.ok, after.ok, after.first_bad_seq
        finally:
            await db.dispose()

    before, after, bad_seq = asyncio.run(work())
    assert before is True
    assert after is False and bad_seq == 2


def test_secrets_in_settings_are_never_read_back(rig: GatewayRig) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    callback = {"url": "https://callbacks.example.gov.uk/status", "bearer_token": token}
    with admin(rig) as api:
        org = api.post("/organisations", json={"name": f"Dept {uuid.uuid4().hex[:6]}"}).json()
        svc = api.post("/services", json={"organisation_id": org["id"], "name": "Callbacks"}).json()
        patched = api.patch(
            f"/services/{svc['id']}", json={"settings": {"notify": {"delivery_status_callback": callback}}}
        )
        assert patched.status_code == 200, patched.text
        expected = {"url": callback["url"], "bearer_token": "[redacted]"}
        assert patched.json()["settings"]["notify"]["delivery_status_callback"] == expected
        assert api.get(f"/services/{svc['id']}").json()["settings"]["notify"]["delivery_status_callback"] == expected
        assert token not in api.get("/services", params={"organisation_id": org["id"]}).text

    async def stored() -> str:
        db = Database(rig.db_url, pool_size=1)
        try:
            async with db.read_session() as session:
                events = await session.scalars(select(AuditEvent.details).where(AuditEvent.target_id == svc["id"]))
                settings = await session.scalars(select(Service.settings).where(Service.id == uuid.UUID(svc["id"])))
                return " ".join(str(value) for value in [*events, *settings])
        finally:
            await db.dispose()

    held = asyncio.run(stored())
    assert token not in held and "[redacted]" in held and "sealed:" in held


def test_sealing_is_idempotent_and_settings_from_before_it_still_open() -> None:
    GatewaySettings().register_encryption()
    plain = {"inbound_sms_callback": {"url": "https://x.example", "bearer_token": "s3cret"}, "sms_message_limit": 5}
    once = sealed(plain)
    assert once["inbound_sms_callback"]["bearer_token"].startswith("sealed:") and "s3cret" not in str(once)
    assert sealed(once) == once  # a sealed value is left as it is
    assert opened(once) == plain and opened(plain) == plain  # a plain value (stored before sealing) opens as itself
    assert same_settings(once, sealed(plain)) and not same_settings(once, {**plain, "sms_message_limit": 6})
    assert redacted(once)["inbound_sms_callback"]["bearer_token"] == "[redacted]"
    assert sealed({"bearer_token": ""}) == {"bearer_token": ""}  # nothing to hide

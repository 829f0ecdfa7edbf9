"""A real notify behind a real gateway, on the test PostgreSQL and Redis, with a tenant pushed the way production
pushes it (the gateway's outbox and internal API), and templates made through notify's own API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.embedded.fake_print import default_credentials as default_print_credentials
from gaap.embedded.fake_sms import PROVIDERS as SMS_PROVIDERS
from gaap.embedded.fake_sms import create_fake_sms_app, default_credentials
from gaap.embedded.inbox import SmsStore
from gaap.principal import PrincipalSigner
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.app import create_app as create_gateway
from gateway.demo_templates import NotifyKeyAuth
from gateway.keys.service import KeyMaterial, create_key
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants
from services.notify.app import create_app as create_notify
from services.notify.settings import NotifySettings
from tests.gateway.conftest import MASTER, make_settings
from tests.support import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
#: What the email provider (the SMTP sink in the delivery tests) sends with its receipts.
EMAIL_RECEIPT_USER, EMAIL_RECEIPT_PASSWORD = "smtp-sink", "receipt-test-password"
#: The SMS providers' credentials (the fake provider's defaults): on their API, and with their receipts and
#: inbound texts (`provider=user:password,...`, as in `NOTIFY_SMS_*_CREDENTIALS`).
SMS_CREDENTIALS = ",".join(f"{name}={':'.join(default_credentials(name))}" for name in SMS_PROVIDERS)
#: The print provider's credentials (the fake print provider's defaults), on its API and with its reports.
PRINT_CREDENTIALS = ":".join(default_print_credentials())


@dataclass
class NotifyRig:
    url: str
    service_id: uuid.UUID
    keys: dict[str, str]
    templates: dict[str, str]
    gateway_db: str
    notify_db: str
    redis_url: str
    notify_url: str


def notify_settings(db_url: str, redis_url: str, public: str) -> NotifySettings:
    kid, master = parse_keyring(MASTER)[0]
    return NotifySettings(
        database_url=db_url,
        redis_url=redis_url,
        principal_keys=SecretStr(format_keyring([(kid, derive_audience_key(master, "notify"))])),
        public_base_url=public,
        email_receipt_credentials=SecretStr(f"{EMAIL_RECEIPT_USER}:{EMAIL_RECEIPT_PASSWORD}"),
        sms_webhook_credentials=SecretStr(SMS_CREDENTIALS),
        print_webhook_credentials=SecretStr(PRINT_CREDENTIALS),
    )


async def _seed(gateway_db: str, settings, notify_url: str, team_email: str) -> tuple[uuid.UUID, dict[str, str]]:  # type: ignore[no-untyped-def]
    await upgrade(ROOT / "gateway" / "migrations", gateway_db)
    material = KeyMaterial.from_settings(settings)
    db = Database(gateway_db, pool_size=2)
    keys: dict[str, str] = {}
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name=f"Notify tests {uuid.uuid4().hex[:6]}", actor="t")
            svc = await tenants.create_service(
                session, organisation_id=org.id, name="Notify tests", restricted=False, actor="t"
            )
            await tenants.add_member(
                session, svc.id, email=team_email, mobile_number="07700900456", roles=["admin"], actor="t"
            )
            for label, key_type, scopes in [
                ("live", "normal", []),
                ("team", "team", []),
                ("test", "test", []),
                ("manage", "normal", ["manage_templates"]),
            ]:
                _row, full = await create_key(
                    session,
                    material,
                    service_id=svc.id,
                    api="notify",
                    name=label,
                    key_type=key_type,
                    scopes=scopes,
                    actor="t",
                )
                keys[label] = full
        signer = PrincipalSigner(parse_keyring(MASTER))
        pusher = Pusher(db, {"notify": notify_url}, signer)
        try:
            outcome = await pusher.deliver_pending(svc.id)
        finally:
            await pusher.close()
        assert outcome == {"delivered": 1}, outcome
    finally:
        await db.dispose()
    return svc.id, keys


def manage(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=NotifyKeyAuth(key))


TEMPLATES = {
    "email": {
        "name": "Appointment confirmation",
        "type": "email",
        "subject": "Your appointment on ((date))",
        "body": "# Hello ((name))\n\nYour appointment is on ((date)).\n\n((urgent??Please bring your letter.))",
    },
    "sms": {"name": "Reminder text", "type": "sms", "body": "Hello ((name)), your code is ((code))"},
    "letter": {
        "name": "Licence letter",
        "type": "letter",
        "subject": "Your licence",
        "body": "Dear ((name)),\n\nYour licence is enclosed.",
        "postage": "second",
    },
}


# The session fixture `notify_rig`, registered once for the suite by tests/rigs.py.
def notify_rig(  # type: ignore[no-untyped-def]
    make_postgres_database,
    redis_url: str,
    upstreams: dict[str, str],
) -> Iterator[NotifyRig]:
    gateway_db = make_postgres_database("gw_notify")
    notify_db = make_postgres_database("notify")
    asyncio.run(upgrade(ROOT / "services" / "notify" / "migrations", notify_db))
    notify_app = create_notify(notify_settings(notify_db, redis_url, "http://127.0.0.1"))
    with serve_in_thread(notify_app) as notify_url:
        gateway_settings = make_settings(gateway_db, redis_url, {**upstreams, "notify": notify_url})
        with serve_in_thread(create_gateway(gateway_settings)) as gateway_url:
            # Notify builds every absolute link from the public origin: the gateway's.
            notify_app.state.settings.public_base_url = gateway_url
            service_id, keys = asyncio.run(_seed(gateway_db, gateway_settings, notify_url, "team@example.gov.uk"))
            templates: dict[str, str] = {}
            with manage(gateway_url, keys["manage"]) as api:
                for channel, body in TEMPLATES.items():
                    created = api.post("/v2/manage-template", json=body)
                    assert created.status_code == 201, created.text
                    templates[channel] = created.json()["id"]
            yield NotifyRig(gateway_url, service_id, keys, templates, gateway_db, notify_db, redis_url, notify_url)


def change_service(rig: NotifyRig, **changes: object) -> None:
    """Change the service in the gateway and push it to notify, as the console would."""

    async def work() -> None:
        db = Database(rig.gateway_db, pool_size=1)
        try:
            async with db.write_session() as session:
                await tenants.update_service(session, rig.service_id, actor="test", **changes)  # type: ignore[arg-type]
            pusher = Pusher(db, {"notify": rig.notify_url}, PrincipalSigner(parse_keyring(MASTER)))
            try:
                outcome = await pusher.deliver_pending(rig.service_id)
            finally:
                await pusher.close()
            assert outcome == {"delivered": 1}, outcome
        finally:
            await db.dispose()

    asyncio.run(work())


@dataclass
class SmsFake:
    """The fake SMS provider (`gaap.embedded.fake_sms`, both `mmg` and `firetext`) served over real HTTP, posting
    its receipts and inbound texts to the rig's gateway as the real providers would."""

    url: str
    store: Path

    def control(self, provider: str, **settings: object) -> None:
        """Fault settings for one provider (omitted ones back to their defaults)."""
        answer = httpx.put(f"{self.url}/control/{provider}", json=settings)
        assert answer.status_code == 200, answer.text

    def reset(self) -> None:
        assert httpx.post(f"{self.url}/control/reset").status_code == 200

    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = httpx.get(f"{self.url}/stats").json()
        return stats

    def copies(self, reference: object) -> list[tuple[str, str, str | None]]:
        """(provider, content, sender) of every text the fake holds with this reference."""
        store = SmsStore(self.store)
        try:
            rows = store.conn.execute(
                "SELECT provider, content, sender FROM messages WHERE reference = ? ORDER BY seq", (str(reference),)
            ).fetchall()
        finally:
            store.close()
        return [(row["provider"], row["content"], row["sender"]) for row in rows]

    def reported(self, reference: object) -> str | None:
        """The last status the fake's receipts reported for this reference (`accepted` before any)."""
        store = SmsStore(self.store)
        try:
            row = store.conn.execute("SELECT status FROM messages WHERE reference = ?", (str(reference),)).fetchone()
        finally:
            store.close()
        return str(row["status"]) if row else None

    def text_in(self, provider: str, *, to: str, sender: str, content: str) -> httpx.Response:
        """Someone texts one of our numbers through `provider`."""
        body = {"to": to, "from": sender, "content": content}
        return httpx.post(f"{self.url}/{provider}/inbound", json=body, timeout=30)


# The session fixture `sms_fake`, registered once for the suite by tests/rigs.py.
def sms_fake(notify_rig: NotifyRig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmsFake]:
    store = tmp_path_factory.mktemp("sms")
    app = create_fake_sms_app(
        store,
        receipt_url=f"{notify_rig.url}/notifications/sms/{{provider}}",
        inbound_url=f"{notify_rig.url}/notifications/sms/receive/{{provider}}",
        receipt_delay_seconds=0.05,
        receipt_attempts=9,  # about 25 s of retries: a receipt may overtake the worker on a loaded machine
        receipt_retry_seconds=0.1,
    )
    with serve_in_thread(app, lifespan="on") as url:
        yield SmsFake(url, store)

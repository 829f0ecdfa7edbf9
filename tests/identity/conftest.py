"""A real identity behind a real gateway, once on SQLite and once on the test PostgreSQL; codes are emailed
through the real notify behind its own real gateway (the notify tests' rig), with identity's own live Notify key
and template, as the platform seed step sets them up. Texted codes go through the same notify, whose worker
(`texting`, for the modules that need it) hands them to the fake SMS provider, where `Phone.code()` reads them.

- `identity_rig.register(rp)` puts a relying party's client record in a gateway service's `settings["identity"]`
  and pushes it through the gateway's outbox to identity's internal API, as the console does.
- `person` is an account made directly in identity's database (tests of the sign-up pages make their own).
"""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import serve
from gaap.principal import PrincipalSigner
from gaap.settings import derive_audience_key, format_keyring, parse_keyring
from gateway.app import create_app as create_gateway
from gateway.demo_templates import NotifyKeyAuth
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants
from services.identity.accounts import totp
from services.identity.accounts.models import APP, SMS, User
from services.identity.accounts.notify import ACCOUNT_NOTICE_TEMPLATE, SMS_CODE_TEMPLATE
from services.identity.accounts.passwords import hash_password
from services.identity.app import create_app as create_identity
from services.identity.settings import IdentitySettings
from tests.gateway.conftest import MASTER, make_settings
from tests.identity.support import Browser, Person, Phone, RelyingParty
from tests.notify.conftest import NotifyRig, SmsFake, manage
from tests.notify.delivery.support import spec as notify_worker_spec
from tests.support import redis_database, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "services" / "identity" / "migrations"
PASSWORD = "a long and unlisted passphrase 7"
CODE_TEMPLATE = {
    "name": "Identity: email code",
    "type": "email",
    "subject": "Your security code",
    "body": "Your security code is ((code)). It expires in ((expiry_minutes)) minutes.",
}


@dataclass
class IdentityRig:
    backend: str
    gateway_url: str
    identity_url: str
    identity_db: str
    gateway_db: str
    redis_url: str
    settings: IdentitySettings
    app: FastAPI
    upstreams: dict[str, str]
    notify: NotifyRig
    service_id: uuid.UUID
    password_hash: str

    @property
    def issuer(self) -> str:
        return self.gateway_url + "/"

    def push(self, clients: list[dict[str, Any]], service_id: uuid.UUID | None = None) -> dict[str, int]:
        """Store the clients in the gateway service's settings and push them, as the console would."""
        return asyncio.run(_push_clients(self, service_id or self.service_id, clients))

    def register(self, rp: RelyingParty, **overrides: Any) -> RelyingParty:
        outcome = self.push([rp.record(**overrides)], self.new_service())
        assert outcome == {"delivered": 1}, outcome
        return rp

    def new_service(self) -> uuid.UUID:
        return asyncio.run(_new_service(self.gateway_db))

    def rp(self, **overrides: Any) -> RelyingParty:
        return self.register(RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", self.issuer), **overrides)

    def browser(self) -> Browser:
        return Browser(self.gateway_url)

    def person(self, password: str | None = None) -> Person:
        """An account with an authenticator app; its password is the rig's unless `password` is given."""
        email = f"citizen-{uuid.uuid4().hex[:10]}@example.com"
        secret = totp.new_secret()
        password_hash = asyncio.run(hash_password(password)) if password else self.password_hash
        asyncio.run(_add_user(self.identity_db, email, password_hash, secret))
        return Person(email, password or PASSWORD, secret)

    def texting_person(self, phone: Phone) -> Person:
        """An account whose second factor is text messages to `phone`."""
        email = f"texted-{uuid.uuid4().hex[:10]}@example.com"
        asyncio.run(_add_user(self.identity_db, email, self.password_hash, None, phone.e164))
        return Person(email, PASSWORD, "", phone=phone)

    def emailed_code(self, email: str) -> str:
        """The last code notify was asked to email to `email`, read back through notify's own API."""
        with httpx.Client(base_url=self.notify.url, auth=NotifyKeyAuth(self.notify.keys["live"])) as api:
            listed = api.get("/v2/notifications", params={"template_type": "email"})
            assert listed.status_code == 200, listed.text
        for item in listed.json()["notifications"]:
            found = re.search(r"\b(\d{6})\b", item["body"]) if item["email_address"] == email else None
            if found:  # account notices carry no code
                return found.group(1)
        raise AssertionError(f"no code emailed to {email}")

    def emails_to(self, email: str) -> list[dict[str, Any]]:
        """Every email notify was asked to send to `email`, newest first."""
        with httpx.Client(base_url=self.notify.url, auth=NotifyKeyAuth(self.notify.keys["live"])) as api:
            listed = api.get("/v2/notifications", params={"template_type": "email"})
            assert listed.status_code == 200, listed.text
        return [item for item in listed.json()["notifications"] if item["email_address"] == email]

    def db(self) -> Database:
        return Database(self.identity_db, pool_size=2)


async def _new_service(gateway_db: str) -> uuid.UUID:
    db = Database(gateway_db, pool_size=1)
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name=f"Identity tests {uuid.uuid4().hex[:8]}", actor="t")
            svc = await tenants.create_service(session, organisation_id=org.id, name="RP", restricted=False, actor="t")
        return svc.id
    finally:
        await db.dispose()


async def _push_clients(rig: IdentityRig, service_id: uuid.UUID, clients: list[dict[str, Any]]) -> dict[str, int]:
    db = Database(rig.gateway_db, pool_size=1)
    try:
        async with db.write_session() as session:
            await tenants.update_service(session, service_id, actor="t", settings={"identity": {"clients": clients}})
        pusher = Pusher(db, {"identity": rig.identity_url}, PrincipalSigner(parse_keyring(MASTER)))
        try:
            return await pusher.deliver_pending(service_id)
        finally:
            await pusher.close()
    finally:
        await db.dispose()


async def _add_user(db_url: str, email: str, password_hash: str, secret: str | None, phone: str | None = None) -> None:
    factor = {"second_factor": SMS, "phone_number": phone} if phone else {"second_factor": APP, "totp_secret": secret}
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            session.add(User(email=email, password_hash=password_hash, **factor))
    finally:
        await db.dispose()


def _redis_for(redis_url: str, backend: str) -> str:
    """Each backend's rig on its own Redis database, apart from notify's and pay's."""
    return redis_database(redis_url, 4 if backend == "sqlite" else 12)


def identity_settings(
    db_url: str, redis_url: str, notify: NotifyRig, template_id: str, others: dict[str, str] | None = None
) -> IdentitySettings:
    """`template_id`: the emailed code's; `others`: the texted code's (`sms`) and the notice's (`notice`)."""
    others = others or {}
    kid, master = parse_keyring(MASTER)[0]
    return IdentitySettings(
        database_url=db_url,
        redis_url=redis_url,
        principal_keys=SecretStr(format_keyring([(kid, derive_audience_key(master, "identity"))])),
        notify_base_url=notify.url,
        notify_api_key=SecretStr(notify.keys["live"]),
        notify_template_email_code=template_id,
        notify_template_sms_code=others.get("sms", ""),
        notify_template_account_notice=others.get("notice", ""),
    )


# The session fixture `code_template`, registered once for the suite by tests/rigs.py.
def code_template(notify_rig: NotifyRig) -> str:
    """Identity's emailed-code template in the notify rig's service, made with its `manage` key (identity's own key
    there cannot make templates, so the ids are configured, as an operator may)."""
    with manage(notify_rig.url, notify_rig.keys["manage"]) as api:
        created = api.post("/v2/manage-template", json={**CODE_TEMPLATE, "process_type": "priority"})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


# The session fixture `identity_templates`, registered once for the suite by tests/rigs.py.
def identity_templates(notify_rig: NotifyRig, code_template: str) -> dict[str, str]:
    """All of identity's templates: the emailed code, the texted code (both on the priority lane), the notice."""
    made = {"email": code_template}
    with manage(notify_rig.url, notify_rig.keys["manage"]) as api:
        for label, spec in (("sms", SMS_CODE_TEMPLATE), ("notice", ACCOUNT_NOTICE_TEMPLATE)):
            body = {"name": spec.name, "type": spec.template_type, "body": spec.body, "subject": spec.subject,
                    "process_type": spec.process_type}  # fmt: skip
            created = api.post("/v2/manage-template", json={k: v for k, v in body.items() if v is not None})
            assert created.status_code == 201, created.text
            made[label] = str(created.json()["id"])
    return made


# The session fixture `identity_rig`, registered once for the suite by tests/rigs.py.
def identity_rig(  # type: ignore[no-untyped-def]
    request,
    make_postgres_database,
    tmp_path_factory,
    redis_url: str,
    upstreams: dict[str, str],
    notify_rig: NotifyRig,
    identity_templates: dict[str, str],
) -> Iterator[IdentityRig]:
    backend = request.param
    if backend == "sqlite":
        identity_db = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('identity') / 'identity.db'}"
    else:
        identity_db = make_postgres_database("identity")
    gateway_db = make_postgres_database(f"gw_id_{backend[:2]}")
    rig_redis = _redis_for(redis_url, backend)
    asyncio.run(upgrade(MIGRATIONS, identity_db))
    asyncio.run(upgrade(ROOT / "gateway" / "migrations", gateway_db))
    settings = identity_settings(identity_db, rig_redis, notify_rig, identity_templates["email"], identity_templates)
    app = create_identity(settings)
    with serve_in_thread(app) as identity_url:
        rig_upstreams = {**upstreams, "identity": identity_url}
        # Argon2id takes tens of milliseconds of CPU, far more on a loaded test machine: a patient gateway.
        # The whole suite's journeys come from one address: the gateway's per-IP page limit is raised to fit them.
        gateway_settings = make_settings(
            gateway_db,
            rig_redis,
            rig_upstreams,
            anonymous_rate_per_minute=60_000,
            anonymous_burst=10_000,
        )
        with serve_in_thread(create_gateway(gateway_settings)) as gateway_url:
            # Identity builds every absolute URL from its issuer: here, the gateway's origin.
            settings.issuer = gateway_url
            yield IdentityRig(
                backend,
                gateway_url,
                identity_url,
                identity_db,
                gateway_db,
                rig_redis,
                settings,
                app,
                rig_upstreams,
                notify_rig,
                asyncio.run(_new_service(gateway_db)),
                asyncio.run(hash_password(PASSWORD)),
            )


@pytest.fixture
def rp(identity_rig: IdentityRig) -> RelyingParty:
    """A fresh relying party (its own gateway service and client), pairwise subjects."""
    return identity_rig.rp()


@pytest.fixture
def person(identity_rig: IdentityRig) -> Person:
    return identity_rig.person()


@pytest.fixture
def browser(identity_rig: IdentityRig) -> Iterator[Browser]:
    client = identity_rig.browser()
    yield client
    client.close()


@pytest.fixture(scope="module")
def texting(notify_rig: NotifyRig, email_sink: SmtpSink, sms_fake: SmsFake) -> Iterator[SmsFake]:
    """Notify's worker, for one module, delivering texts to the fake SMS provider (and email to the SMTP sink)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    worker = notify_worker_spec(notify_rig, email_sink, sms=sms_fake)
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(serve(worker, stop=stop, handle_signals=False)), daemon=True
    )
    thread.start()
    try:
        yield sms_fake
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(20)
        loop.close()


@pytest.fixture
def phone(texting: SmsFake) -> Phone:
    return Phone.new(texting.store)

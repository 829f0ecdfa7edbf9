"""The console in front of a real identity, as `gaap up` sets it up: a gateway with the console's client key, an
identity whose issuer is that gateway's origin, and the gateway's real seed step, which registers the console's
client on the platform's "GaaP console" service; the push to identity goes through the gateway's outbox.

People are identity accounts made directly in identity's database: the demo admin (every role on the demo
service), a member without a key role, someone on no team, and a platform operator. The real notify and pay sit
behind the gateway too, with the demo service pushed to both (its Pay settings allow `moto_api` payments, so a
test can make a successful payment without a card page).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.principal import PrincipalSigner
from gaap.settings import parse_keyring
from gateway.app import create_app as create_gateway
from gateway.console.oidc import client_record
from gateway.keys.service import KeyMaterial, create_key
from gateway.seed import PLATFORM_ORGANISATION, PLATFORM_SERVICES, seed
from gateway.settings import GatewaySettings
from gateway.sync.service import Pusher
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import ROLES
from services.identity.accounts import totp
from services.identity.accounts.models import User
from services.identity.accounts.passwords import hash_password
from services.identity.app import create_app as create_identity
from services.identity.demo import new_client_key
from services.pay.app import create_app as create_pay
from services.pay.settings import PaySettings
from tests.gateway.conftest import MASTER, make_settings
from tests.identity.conftest import PASSWORD, identity_settings
from tests.identity.support import Browser, Person
from tests.notify.conftest import NotifyRig
from tests.pay.conftest import MIGRATIONS as PAY_MIGRATIONS
from tests.pay.conftest import _pay_settings
from tests.support import redis_database, serve_in_thread

ROOT = Path(__file__).resolve().parents[3]
ADMIN = "admin@demo.gaap.test"
OPERATOR = "operator@platform.gaap.test"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class ConsoleRig:
    url: str
    settings: GatewaySettings
    gateway_db: str
    identity_db: str
    demo_service_id: uuid.UUID
    console_service_id: uuid.UUID
    password_hash: str
    pay_test_key: str
    #: The rig's pay, for driving its worker's handlers (capture, disputes) directly; None where the rig has none.
    pay_settings: PaySettings | None

    def person(self, email: str | None = None) -> Person:
        """An identity account (password and authenticator app) for `email`, or for a new address."""
        email = email or f"someone-{uuid.uuid4().hex[:10]}@example.gov.uk"
        secret = totp.new_secret()
        asyncio.run(_add_user(self.identity_db, email, self.password_hash, secret))
        return Person(email, PASSWORD, secret)

    def member(self, roles: list[str]) -> Person:
        """A person on the demo service's team with `roles`."""
        person = self.person()
        asyncio.run(_add_member(self.gateway_db, self.demo_service_id, person.email, roles))
        return person

    def admin(self) -> Person:
        """A new admin of the demo service (every role)."""
        return self.member(list(ROLES))

    def browser(self) -> ConsoleBrowser:
        return ConsoleBrowser(self.url)

    def successful_payment(self, reference: str, amount: int = 1500) -> str:
        """A `moto_api` payment of the demo service's test account, authorised through the gateway: its id."""
        auth = {"Authorization": f"Bearer {self.pay_test_key}"}
        body = {"amount": amount, "reference": reference, "description": "Parking permit"}
        with httpx.Client(base_url=self.url, timeout=30) as client:
            created = client.post("/v1/payments", json={**body, "authorisation_mode": "moto_api"}, headers=auth)
            assert created.status_code == 201, created.text
            token = created.json()["_links"]["auth_url_post"]["params"]["one_time_token"]
            card = {"card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/39", "cardholder_name": "A"}
            authorised = client.post("/v1/auth", json={"one_time_token": token, **card})
            assert authorised.status_code == 204, authorised.text
        payment_id: str = created.json()["payment_id"]
        return payment_id


class ConsoleBrowser(Browser):
    """A browser without JavaScript that signs in to the console through identity's pages."""

    def follow_all(self, response: httpx.Response) -> httpx.Response:
        """Follow redirects within the gateway's origin, absolute or relative."""
        origin = str(self.client.base_url).rstrip("/")
        while response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith(origin):
                location = location[len(origin) :]
            if not location.startswith("/"):
                break
            response = self.client.get(location)
        self.last = response
        return response

    def sign_in_to_console(self, person: Person, path: str = "/console") -> httpx.Response:
        """Ask for a console page, sign in at identity (password and app code), and land back on that page."""
        to_identity = self.follow_all(self.get(path))
        assert urlsplit(str(to_identity.url)).path == "/identity/sign-in", to_identity.url
        back = self.sign_in(person)
        return self.follow_all(back)

    def post_with_token(self, url: str, token_page: str, **fields: str) -> httpx.Response:
        """Post to `url` with the CSRF token found on `token_page` (the sign-out form on every console page)."""
        token = CSRF.search(self.client.get(token_page).text)
        assert token, token_page
        self.last = self.client.post(url, data={"csrf_token": token.group(1), **fields})
        return self.last


async def _add_user(db_url: str, email: str, password_hash: str, secret: str) -> None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            session.add(User(email=email, password_hash=password_hash, totp_secret=secret))
    finally:
        await db.dispose()


async def _add_member(db_url: str, service_id: uuid.UUID, email: str, roles: list[str]) -> None:
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            await tenants.add_member(session, service_id, email=email, roles=roles, actor="test")
    finally:
        await db.dispose()


async def _seed_and_push(
    db_url: str, settings: GatewaySettings, targets: dict[str, str]
) -> tuple[uuid.UUID, uuid.UUID, str]:
    """`gaap up`'s seed, with the console's client; then the push of the console service to identity, and of the
    demo service (allowed `moto_api` payments) to notify and pay; and a Pay test key of the demo service."""
    db = Database(db_url, pool_size=1)
    try:
        async with db.write_session() as session:
            result = await seed(
                session,
                KeyMaterial.from_settings(settings),
                console_email=ADMIN,
                console_client=client_record(settings),
            )
            platform = await tenant_repo.organisation_by_name(session, PLATFORM_ORGANISATION)
            assert platform is not None
            console = await tenant_repo.service_by_name(session, platform.id, PLATFORM_SERVICES["console"])
            assert console is not None
            demo = uuid.UUID(result.service_id)
            await tenants.update_service(session, demo, actor="test", settings={"pay": {"allow_moto_api": True}})
            _key, pay_key = await create_key(
                session,
                KeyMaterial.from_settings(settings),
                service_id=demo,
                api="pay",
                name="t",
                key_type="test",
                actor="test",
            )
        pusher = Pusher(db, targets, PrincipalSigner(parse_keyring(MASTER)))
        try:
            assert (await pusher.deliver_pending(console.id)).get("delivered")
            assert (await pusher.deliver_pending(demo)).get("delivered")
        finally:
            await pusher.close()
        return demo, console.id, pay_key
    finally:
        await db.dispose()


# The session fixture `console_rig`, registered once for the suite by tests/rigs.py.
def console_rig(  # type: ignore[no-untyped-def]
    make_postgres_database,
    redis_url: str,
    upstreams: dict[str, str],
    notify_rig: NotifyRig,
    code_template: str,
) -> Iterator[ConsoleRig]:
    rig_redis = redis_database(redis_url, 8)
    gateway_db = make_postgres_database("gw_console")
    with tempfile.TemporaryDirectory() as tmp:
        identity_db = f"sqlite+aiosqlite:///{tmp}/identity.db"
        asyncio.run(upgrade(ROOT / "services" / "identity" / "migrations", identity_db))
        asyncio.run(upgrade(ROOT / "gateway" / "migrations", gateway_db))
        pay_db = f"sqlite+aiosqlite:///{tmp}/pay.db"
        asyncio.run(upgrade(PAY_MIGRATIONS, pay_db))
        pay = _pay_settings(pay_db, rig_redis)
        identity = identity_settings(identity_db, rig_redis, notify_rig, code_template)
        with serve_in_thread(create_identity(identity)) as identity_url, serve_in_thread(create_pay(pay)) as pay_url:
            targets = {"notify": notify_rig.notify_url, "identity": identity_url, "pay": pay_url}
            settings = make_settings(
                gateway_db,
                rig_redis,
                {**upstreams, **targets},
                console_client_key=SecretStr(new_client_key()),
                console_operators=f"{OPERATOR}, someone-else@platform.gaap.test",
            )
            with serve_in_thread(create_gateway(settings)) as url:
                # One origin, as in `gaap up`: identity's issuer and the console's redirect URIs are the gateway's.
                identity.issuer = url
                settings.console_base_url = url
                settings.console_issuer = url + "/"
                pay.api_base_url = pay.frontend_base_url = url
                demo, console, pay_key = asyncio.run(_seed_and_push(gateway_db, settings, targets))
                password_hash = asyncio.run(hash_password(PASSWORD))
                yield ConsoleRig(url, settings, gateway_db, identity_db, demo, console, password_hash, pay_key, pay)


@pytest.fixture
def browser(console_rig: ConsoleRig) -> Iterator[ConsoleBrowser]:
    client = console_rig.browser()
    yield client
    client.close()


def new_key_from(page: str) -> str:
    """The full key shown once on the "New API key" page."""
    found = re.search(r'<p class="govuk-body govuk-!-font-weight-bold" id="api-key"><code>([^<]+)</code>', page)
    assert found, page[:2000]
    return found.group(1)

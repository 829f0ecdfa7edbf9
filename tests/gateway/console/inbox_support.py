"""The console in front of a notify that has a developer inbox, as `gaap up` runs it: notify in development mode
with the SMTP sink's Maildir and the fake SMS provider's store configured, and notify's real delivery worker, run
in-process on demand, handing emails to a real SMTP sink writing that Maildir.

The console rig of `conftest.py` shares its notify with other rigs and keeps that app's settings to itself, so this
rig builds its own from the same helpers: a notify, an identity (the console signs admins in through it) and a
gateway with the console's client, seeded and pushed by the real seed step. Its Redis database is its own, so its
worker never takes another rig's jobs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from gaap.db.engine import Database
from gaap.db.migrate import upgrade
from gaap.embedded.inbox import iter_maildir_files
from gaap.embedded.smtp_sink import SmtpSink
from gaap.jobs import serve
from gateway.app import create_app as create_gateway
from gateway.keys.service import KeyMaterial, create_key
from services.identity.accounts.passwords import hash_password
from services.identity.app import create_app as create_identity
from services.identity.demo import new_client_key
from services.notify.app import create_app as create_notify
from services.notify.settings import NotifySettings
from services.notify.worker import DeliverySettings, worker_spec
from tests.gateway.conftest import make_settings
from tests.gateway.console.conftest import OPERATOR, ROOT, ConsoleRig, _seed_and_push
from tests.identity.conftest import PASSWORD, identity_settings
from tests.notify.conftest import NotifyRig, manage, notify_settings
from tests.support import redis_database, serve_in_thread


@dataclass
class InboxConsole(ConsoleRig):
    """The console rig, with a notify whose developer inbox is on, and its delivery worker on demand."""

    notify: NotifySettings
    maildir: Path
    template_id: str

    def deliver(self, count: int = 1, seconds: float = 20.0) -> None:
        """Run notify's delivery worker until the sink's Maildir holds `count` more messages."""
        asyncio.run(_deliver(self, count, seconds))


async def _deliver(rig: InboxConsole, count: int, seconds: float) -> None:
    expected = len(list(iter_maildir_files(rig.maildir))) + count
    with SmtpSink(rig.maildir) as sink:
        settings = rig.notify.model_copy(update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{sink.port}")})
        stop = asyncio.Event()
        worker = asyncio.create_task(serve(worker_spec(settings, DeliverySettings()), stop=stop, handle_signals=False))
        try:
            deadline = time.monotonic() + seconds
            while len(list(iter_maildir_files(rig.maildir))) < expected:
                assert time.monotonic() < deadline, "the delivery worker did not deliver in time"
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.wait_for(worker, 15)


async def _email_template(gateway_db: str, settings: object, rig_url: str, service_id: object) -> str:
    db = Database(gateway_db, pool_size=1)
    try:
        async with db.write_session() as session:
            _key, full = await create_key(
                session,
                KeyMaterial.from_settings(settings),  # type: ignore[arg-type]
                service_id=service_id,  # type: ignore[arg-type]
                api="notify",
                name="inbox templates",
                key_type="normal",
                scopes=["manage_templates"],
                actor="test",
            )
    finally:
        await db.dispose()
    body = {"type": "email", "name": "Inbox check", "subject": "Your reference ((ref))", "body": "Hello\n\nRef ((ref))"}
    with manage(rig_url, full) as api:
        created = api.post("/v2/manage-template", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# The session fixture `inbox_console`, registered once for the suite by tests/rigs.py.
def inbox_console(  # type: ignore[no-untyped-def]
    make_postgres_database,
    redis_url: str,
    upstreams: dict[str, str],
    notify_rig: NotifyRig,
    code_template: str,
) -> Iterator[InboxConsole]:
    rig_redis = redis_database(redis_url, 10)
    gateway_db = make_postgres_database("gw_console_inbox")
    notify_db = make_postgres_database("notify_console_inbox")
    asyncio.run(upgrade(ROOT / "services" / "notify" / "migrations", notify_db))
    with tempfile.TemporaryDirectory() as tmp:
        maildir = Path(tmp) / "mail"
        identity_db = f"sqlite+aiosqlite:///{tmp}/identity.db"
        asyncio.run(upgrade(ROOT / "services" / "identity" / "migrations", identity_db))
        asyncio.run(upgrade(ROOT / "gateway" / "migrations", gateway_db))
        notify = notify_settings(notify_db, rig_redis, "http://127.0.0.1")
        notify.dev_maildir, notify.dev_sms_store = str(maildir), str(Path(tmp) / "sms")
        notify_app = create_notify(notify)
        with serve_in_thread(notify_app) as notify_url:
            # Identity sends its codes through the shared notify, which has its code template.
            identity = identity_settings(identity_db, rig_redis, notify_rig, code_template)
            with serve_in_thread(create_identity(identity)) as identity_url:
                targets = {"notify": notify_url, "identity": identity_url}
                settings = make_settings(
                    gateway_db,
                    rig_redis,
                    {**upstreams, **targets},
                    console_client_key=SecretStr(new_client_key()),
                    console_operators=OPERATOR,
                )
                with serve_in_thread(create_gateway(settings)) as url:
                    identity.issuer = url
                    notify_app.state.settings.public_base_url = url
                    settings.console_base_url = url
                    settings.console_issuer = url + "/"
                    demo, console, pay_key = asyncio.run(_seed_and_push(gateway_db, settings, targets))
                    template_id = asyncio.run(_email_template(gateway_db, settings, url, demo))
                    password_hash = asyncio.run(hash_password(PASSWORD))
                    yield InboxConsole(
                        url,
                        settings,
                        gateway_db,
                        identity_db,
                        demo,
                        console,
                        password_hash,
                        pay_key,
                        None,
                        notify,
                        maildir,
                        template_id,
                    )

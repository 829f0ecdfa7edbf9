"""`gaap up`: the whole platform on one laptop, with one command.

In order: secrets for this data dir (made once, kept in `secrets.json`), a Redis-compatible server, the SQLite
databases brought to their latest migration (`gaap migrate`, its own step, before anything serves), the seed, and
then every role as a supervised child: the development SMTP sink and fake SMS provider, the three services, and
the gateway last, on the public port. When all answer `/readyz` it prints the console URL and the demo
credentials and writes `<data-dir>/demo.json`. Ctrl-C or SIGTERM stops every child and the Redis server.

Both delivery doubles post back through the gateway as real providers would: the SMTP sink its email receipts,
the fake SMS provider (`mmg` and `firetext`) its delivery receipts and the texts people send to the demo
service's inbound number (`notify.inbound_number` in `demo.json`; post one to `<fake_sms_url>/mmg/inbound`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaap.cli.components import with_workers
from gaap.embedded.ports import free_port, port_is_open
from gaap.embedded.redis_server import RedisServer
from gaap.embedded.supervisor import ChildSpec, Supervisor
from gaap.settings import derive_audience_key, format_keyring, parse_keyring

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

SERVICES = ("notify", "pay", "identity")
CONSOLE_EMAIL = "admin@demo.gaap.test"
#: The SMTP sink plays notify's email provider: its name in `sent_by` and in the receipt path.
EMAIL_PROVIDER = "smtp"
SINK_RECEIPT_USER = "smtp-sink"
#: The fake SMS provider plays both of notify's SMS providers.
SMS_PROVIDERS = ("mmg", "firetext")
#: The demo service's inbound number (Ofcom's drama range), received through `mmg`.
DEMO_INBOUND_NUMBER = "447700900999"
#: The fake print provider plays notify's print provider: its name in `sent_by` and in the report path.
PRINT_PROVIDER = "print"


def _key(nbytes: int = 32) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


def _client_key() -> str:
    """A private EC P-256 JWK for a `private_key_jwt` client of identity: the demo relying party's, the console's."""
    from services.identity.demo import new_client_key

    return new_client_key()


def _identity_demo_totp_secret() -> str:
    from services.identity.accounts.totp import new_secret

    return new_secret()


def load_or_create_secrets(data_dir: Path) -> dict[str, str]:
    """This data dir's secrets: random, made on first use (a newer release's new secrets are added), readable
    only by the owner."""
    path = data_dir / "secrets.json"
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "principal_keys": lambda: f"p1:{_key()}",
        "key_encryption_keys": lambda: f"k1:{_key()}",
        "notify_encryption_keys": lambda: f"n1:{_key()}",
        "key_hash_pepper": _key,
        "pay_key_checksum_secret": _key,
        "csrf_secret": _key,
        "console_password": lambda: secrets.token_urlsafe(12),
        "email_receipt_password": _key,
        "sms_provider_password": _key,
        "print_provider_password": _key,
        "identity_demo_client_key": _client_key,
        # The console's own OIDC client key (the console signs admins in through identity, `private_key_jwt`).
        "console_client_key": _client_key,
        "identity_demo_totp_secret": _identity_demo_totp_secret,
    }
    values = {name: existing.get(name) or make() for name, make in wanted.items()}
    if values != existing:
        path.touch(mode=0o600)
        path.write_text(json.dumps(values, indent=2))
    return values


def child_environment(
    *,
    data_dir: Path,
    port: int,
    redis_url: str,
    ports: dict[str, int],
    smtp_port: int,
    sms_port: int,
    values: dict[str, str],
    print_port: int | None = None,
) -> dict[str, str]:
    public = f"http://127.0.0.1:{port}"
    master = parse_keyring(values["principal_keys"])
    receipt_credentials = f"{SINK_RECEIPT_USER}:{values['email_receipt_password']}"
    # The fake takes the same credentials on its API and sends them with its receipts and inbound texts.
    sms_credentials = ",".join(f"{name}={name}:{values['sms_provider_password']}" for name in SMS_PROVIDERS)
    env = {
        "GAAP_ENV": "development",
        "GAAP_DATA_DIR": str(data_dir),
        "GAAP_PUBLIC_BASE_URL": public,
        "GAAP_REDIS_URL": redis_url,
        "GATEWAY_PRINCIPAL_KEYS": values["principal_keys"],
        "GATEWAY_KEY_ENCRYPTION_KEYS": values["key_encryption_keys"],
        "GATEWAY_KEY_HASH_PEPPER": values["key_hash_pepper"],
        "GATEWAY_PAY_KEY_CHECKSUM_SECRET": values["pay_key_checksum_secret"],
        "GATEWAY_CSRF_SECRET": values["csrf_secret"],
        "GATEWAY_CONSOLE_CLIENT_KEY": values["console_client_key"],
        "NOTIFY_ENCRYPTION_KEYS": values["notify_encryption_keys"],
        # Email goes to the SMTP sink, which posts its receipts back through the gateway like a provider would.
        "NOTIFY_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "NOTIFY_EMAIL_PROVIDER": EMAIL_PROVIDER,
        "NOTIFY_EMAIL_RECEIPT_CREDENTIALS": receipt_credentials,
        "SMTP_SINK_RECEIPT_AUTH": receipt_credentials,
        # Texts go to the fake SMS provider, which posts receipts and inbound texts back through the gateway.
        "NOTIFY_SMS_PROVIDER_URL": f"http://127.0.0.1:{sms_port}",
        "NOTIFY_SMS_PROVIDER_CREDENTIALS": sms_credentials,
        "NOTIFY_SMS_WEBHOOK_CREDENTIALS": sms_credentials,
        "FAKE_SMS_AUTH": sms_credentials,
        "NOTIFY_DEV_MAILDIR": str(data_dir / "mail"),
        "NOTIFY_DEV_SMS_STORE": str(data_dir / "sms"),
    }
    if print_port is not None and values.get("print_provider_password"):
        # Letters go to the fake print provider, which posts its reports back through the gateway.
        print_credentials = f"{PRINT_PROVIDER}:{values['print_provider_password']}"
        env["NOTIFY_PRINT_PROVIDER"] = PRINT_PROVIDER
        env["NOTIFY_PRINT_PROVIDER_URL"] = f"http://127.0.0.1:{print_port}"
        env["NOTIFY_PRINT_PROVIDER_CREDENTIALS"] = print_credentials
        env["NOTIFY_PRINT_WEBHOOK_CREDENTIALS"] = print_credentials
        env["FAKE_PRINT_AUTH"] = print_credentials
    for name in SERVICES:
        env[f"GATEWAY_{name.upper()}_URL"] = f"http://127.0.0.1:{ports[name]}"
        # Each service holds only the key derived for its own audience.
        env[f"{name.upper()}_PRINCIPAL_KEYS"] = format_keyring(
            [(kid, derive_audience_key(key, name)) for kid, key in master]
        )
    return env


async def _seed(data_dir: Path, console_email: str, values: dict[str, str]) -> dict[str, Any]:
    from gaap.db.engine import Database
    from gateway.console.oidc import client_record
    from gateway.keys.service import KeyMaterial
    from gateway.seed import seed
    from gateway.settings import GatewaySettings

    settings = GatewaySettings()
    settings.register_encryption()
    previous_path = data_dir / "demo.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.write_session() as session:
            result = await seed(
                session,
                KeyMaterial.from_settings(settings),
                console_email=console_email,
                previous=previous,
                console_client=client_record(settings),
            )
            await _allow_inbound_texts(session, result.service_id)
            await _register_demo_client(session, result.service_id, values["identity_demo_client_key"])
    finally:
        await db.dispose()
    await _demo_account(console_email, values)
    return result.__dict__


async def _register_demo_client(session: AsyncSession, service_id: str, private_jwk: str) -> None:
    """The demo relying party, registered on the demo service as a department registers its clients (pushed to
    identity with the service)."""
    from gateway.tenants import service as tenants
    from services.identity.demo import client_record

    await tenants.update_service(
        session, uuid.UUID(service_id), actor="seed", settings={"identity": {"clients": [client_record(private_jwk)]}}
    )


async def _demo_account(console_email: str, values: dict[str, str]) -> None:
    """The console admin's identity account (the console signs admins in through identity, at `Cl.Cm`)."""
    from services.identity.demo import ensure_demo_user
    from services.identity.settings import IdentitySettings

    await ensure_demo_user(
        IdentitySettings(),
        email=console_email,
        password=values["console_password"],
        totp_secret=values["identity_demo_totp_secret"],
    )


async def _allow_inbound_texts(session: AsyncSession, service_id: str) -> None:
    """Give the demo service notify's `inbound_sms` permission (pushed to notify with the service), so the texts
    sent to its inbound number are kept for it."""
    from gateway.tenants import service as tenants
    from services.notify.tenancy.service import DEFAULT_PERMISSIONS

    service = await tenants.require_service(session, uuid.UUID(service_id))
    notify = dict((service.settings or {}).get("notify", {}))
    permissions = set(notify.get("permissions") or DEFAULT_PERMISSIONS)
    if "inbound_sms" not in permissions:
        notify["permissions"] = sorted(permissions | {"inbound_sms"})
        await tenants.update_service(session, service.id, actor="seed", settings={"notify": notify})


async def _demo_inbound_number(service_id: str) -> str:
    """Assign the demo service its inbound number in notify (once notify holds the service)."""
    from gaap.db.engine import Database
    from services.notify.inbound.service import assign_inbound_number
    from services.notify.settings import NotifySettings

    db = Database(NotifySettings().database_url, pool_size=1)
    try:
        async with db.write_session() as session:
            number = await assign_inbound_number(
                session, number=DEMO_INBOUND_NUMBER, provider=SMS_PROVIDERS[0], service_id=uuid.UUID(service_id)
            )
            return number.number
    finally:
        await db.dispose()


async def _demo_notify(gateway_url: str, templates_key: str, service_id: str) -> dict[str, str]:
    """Tell notify about the seeded services now (rather than at the gateway worker's next sweep), then give the
    demo service its inbound number and make the demo templates through notify's API."""
    from gaap.db.engine import Database
    from gateway.demo_templates import ensure_demo_templates
    from gateway.settings import GatewaySettings
    from gateway.sync.service import Pusher

    settings = GatewaySettings()
    settings.register_encryption()
    db = Database(settings.database_url, pool_size=1)
    pusher = Pusher.from_settings(db, settings)
    try:
        await pusher.deliver_pending()
    finally:
        await pusher.close()
        await db.dispose()
    inbound_number = await _demo_inbound_number(service_id)
    ids = await ensure_demo_templates(gateway_url, templates_key)
    return {**ids, "inbox_url": f"{gateway_url}/v2/inbox/emails", "inbound_number": inbound_number}


def demo_document(
    *, port: int, data_dir: Path, seeded: dict[str, Any], values: dict[str, str], sms_port: int
) -> dict[str, Any]:
    gateway_url = f"http://127.0.0.1:{port}"
    previous_path = data_dir / "demo.json"
    document: dict[str, Any] = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    document.update(
        {
            "gateway_url": gateway_url,
            "console": {
                "url": f"{gateway_url}/console",
                "email": CONSOLE_EMAIL,
                "password": values["console_password"],
            },
            "organisation_id": seeded["organisation_id"],
            "service_id": seeded["service_id"],
            # Where to post a text "from a phone" to the demo service's inbound number (see the module docstring).
            "fake_sms_url": f"http://127.0.0.1:{sms_port}",
        }
    )
    document["identity"] = _identity_document(gateway_url, values)
    # With the template-managing key, a developer's service makes its own templates (the example does).
    document.setdefault("notify", {}).update({**seeded["notify_keys"], "templates_key": seeded["templates_key"]})
    # Where a demo payment sends the payer back: the console's list of the demo service's payments, where the one just
    # made shows with its outcome.
    payments = f"{gateway_url}/console/services/{seeded['service_id']}/payments"
    document.setdefault("pay", {}).update({"test_key": seeded["pay_test_key"], "return_url": payments})
    return document


def _identity_document(gateway_url: str, values: dict[str, str]) -> dict[str, Any]:
    """What a developer needs to sign in through identity: the issuer, the demo client (its private key as a JWK,
    for `private_key_jwt`) and the demo account, which is also the console admin's."""
    from services.identity.demo import DEMO_CLIENT_ID, DEMO_REDIRECT_URI

    return {
        "issuer": f"{gateway_url}/",
        "client": {
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": DEMO_REDIRECT_URI,
            "private_key_jwk": json.loads(values["identity_demo_client_key"]),
        },
        "user": {
            "email": CONSOLE_EMAIL,
            "password": values["console_password"],
            "totp_secret": values["identity_demo_totp_secret"],
        },
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def _children(
    python: str,
    *,
    host: str,
    port: int,
    ports: dict[str, int],
    smtp_port: int,
    sms_port: int,
    data_dir: Path,
    env: dict[str, str],
    print_port: int | None = None,
) -> list[ChildSpec]:
    """Every role, in start order: the delivery doubles, the services, the gateway once they answer, workers."""
    gaap = [python, "-m", "gaap.cli.main"]
    local = "127.0.0.1"
    smtp = [python, "-m", "gaap.embedded.smtp_sink", "--host", local, "--port", str(smtp_port)]
    smtp += ["--receipt-url", f"http://{local}:{port}/notifications/email/{EMAIL_PROVIDER}"]
    sms = [python, "-m", "gaap.embedded.fake_sms", "--host", local, "--port", str(sms_port)]
    sms += ["--receipt-url", f"http://{local}:{port}/notifications/sms/{{provider}}"]
    sms += ["--inbound-url", f"http://{local}:{port}/notifications/sms/receive/{{provider}}"]
    specs = [
        ChildSpec("smtp-sink", [*smtp, "--maildir", str(data_dir / "mail")], env=env),
        ChildSpec("fake-sms", [*sms, "--store", str(data_dir / "sms")], env=env),
    ]
    if print_port is not None:
        printer = [python, "-m", "gaap.embedded.fake_print", "--host", local, "--port", str(print_port)]
        printer += ["--report-url", f"http://{local}:{port}/notifications/letter/{PRINT_PROVIDER}"]
        specs.append(ChildSpec("fake-print", [*printer, "--store", str(data_dir / "print")], env=env))
    for name in SERVICES:
        specs.append(
            ChildSpec(
                name,
                [*gaap, "serve", name, "--port", str(ports[name])],
                env=env,
                ready_url=f"http://{local}:{ports[name]}/readyz",
            )
        )
    specs.append(
        ChildSpec(
            "gateway",
            [*gaap, "serve", "gateway", "--host", host, "--port", str(port)],
            env=env,
            ready_url=f"http://{local}:{port}/readyz",
        )
    )
    specs.extend(ChildSpec(f"{name}-worker", [*gaap, "worker", name], env=env) for name in with_workers())
    return specs


def banner(document: dict[str, Any], data_dir: Path) -> str:
    console = document["console"]
    return "\n".join(
        [
            "",
            "GaaP is running.",
            f"  Console:   {console['url']}",
            f"  Sign in:   {console['email']} / {console['password']}",
            f"  Gateway:   {document['gateway_url']}",
            f"  Demo keys: {data_dir / 'demo.json'}",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def up(
    *,
    port: int = 8000,
    data_dir: Path = Path("var"),
    host: str = "127.0.0.1",
    with_example: bool = False,
    say: Callable[[str], None] = print,
) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if port_is_open("127.0.0.1", port):
        say(f"port {port} is already in use: stop what is using it or choose another with --port")
        return 2
    values = load_or_create_secrets(data_dir)
    ports = {name: free_port() for name in SERVICES}
    smtp_port, sms_port, print_port = free_port(), free_port(), free_port()
    redis = RedisServer(data_dir=data_dir / "redis", persist=True)
    # SIGTERM during start-up must still stop the Redis server: turn it into the same path as Ctrl-C.
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        redis.start()
        env = child_environment(
            data_dir=data_dir,
            port=port,
            redis_url=redis.url,
            ports=ports,
            smtp_port=smtp_port,
            sms_port=sms_port,
            values=values,
            print_port=print_port,
        )
        child_env = {**os.environ, **env}
        os.environ.update(env)
        say(f"redis: {redis.url}; migrating the databases in {data_dir}")
        subprocess.run([sys.executable, "-m", "gaap.cli.main", "migrate"], env=child_env, check=True)
        seeded = asyncio.run(_seed(data_dir, CONSOLE_EMAIL, values))
        document = demo_document(port=port, data_dir=data_dir, seeded=seeded, values=values, sms_port=sms_port)
        document["fake_print_url"] = f"http://127.0.0.1:{print_port}"  # letters go to print at the 17:30 cut-off
        _write_json(data_dir / "demo.json", document)
        child_env.update(
            {
                "IDENTITY_NOTIFY_API_KEY": seeded["platform_notify_keys"]["identity"],
                "PAY_NOTIFY_API_KEY": seeded["platform_notify_keys"]["pay"],
                "GATEWAY_NOTIFY_API_KEY": seeded["platform_notify_keys"]["console"],
            }
        )
        signal.signal(signal.SIGTERM, previous_term)

        async def when_ready() -> None:
            try:
                document["notify"].update(
                    await _demo_notify(document["gateway_url"], seeded["templates_key"], seeded["service_id"])
                )
                _write_json(data_dir / "demo.json", document)
            except Exception as exc:  # the platform runs; only the demo templates are missing
                say(f"could not create the demo templates: {exc!r}")
            say(banner(document, data_dir))

        def on_ready() -> None:
            tasks.add(task := asyncio.get_running_loop().create_task(when_ready()))
            task.add_done_callback(tasks.discard)

        tasks: set[asyncio.Task[None]] = set()
        supervisor = Supervisor(on_ready=on_ready)
        specs = _children(
            sys.executable,
            host=host,
            port=port,
            ports=ports,
            smtp_port=smtp_port,
            sms_port=sms_port,
            data_dir=data_dir,
            env=child_env,
            print_port=print_port,
        )
        if with_example:
            from gaap.embedded.example import EXAMPLE_URL, example_child

            specs.append(example_child(sys.executable, data_dir=data_dir, env=child_env))
            say(f"the example service (report a problem) will answer at {EXAMPLE_URL}")
        return asyncio.run(supervisor.run(specs))
    except KeyboardInterrupt:
        say("stopped during start-up")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        redis.stop()

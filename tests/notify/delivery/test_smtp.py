"""The SMTP hand-over on its own (`services.notify.delivery.smtp`): one reused session that is reopened when it drops,
STARTTLS, implicit TLS and login from the URL, and which failures are worth a retry (notify spec §16.3)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gaap.embedded.inbox import list_emails
from gaap.embedded.smtp_sink import SmtpSink, set_sink_fault
from services.notify.delivery.providers import ProviderError
from services.notify.delivery.smtp import SmtpRelay, SmtpTarget
from tests.support import free_port

SENDER = "service@notifications.gaap.test"


def message(n: int = 0, to: str = "ada@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SENDER, to, f"Message {n}"
    msg["Message-ID"] = f"<relay-{n}-{to}>"
    msg.set_content("Hello")
    return msg


async def send(relay: SmtpRelay, n: int = 0, to: str = "ada@example.com") -> str:
    return await relay.send(message(n, to), sender=SENDER, recipient=to)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:1025", SmtpTarget("127.0.0.1", 1025)),
        ("smtp://relay.example", SmtpTarget("relay.example", 25)),
        ("smtp+starttls://me:p%40ss@relay.example", SmtpTarget("relay.example", 587, False, True, "me", "p@ss")),
        ("smtps://me:secret@relay.example:2465", SmtpTarget("relay.example", 2465, True, False, "me", "secret")),
    ],
)
def test_the_url_says_where_and_how(url: str, expected: SmtpTarget) -> None:
    assert SmtpTarget.parse(url) == expected


@pytest.mark.parametrize("url", ["http://relay.example", "smtp://", "relay.example:25"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpTarget.parse(url)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "mail", slow_reply_seconds=2.0) as running:
        yield running


def relay_to(port: int, timeout: float = 5.0) -> SmtpRelay:
    return SmtpRelay(SmtpTarget("127.0.0.1", port), timeout=timeout)


async def test_one_session_is_reused_and_reopened_when_it_drops(sink: SmtpSink, tmp_path: Path) -> None:
    relay = relay_to(sink.port)
    try:
        await send(relay, 0)
        await asyncio.gather(*(send(relay, n) for n in range(1, 11)))  # concurrent sends take turns on it
        assert relay.connects == 1
        port = sink.port
        sink.stop()  # the relay goes away: the open session is dead
        with SmtpSink(tmp_path / "mail", port=port):
            await send(relay, 11)
        assert relay.connects == 2
    finally:
        await relay.close()
    assert len(list_emails(tmp_path / "mail", limit=100)) == 12


@pytest.mark.parametrize(
    ("to", "retryable"),
    [("smtp-fail-permanent@example.com", False), ("smtp-fail-temporary@example.com", True)],
)
async def test_a_refused_recipient_is_permanent_on_5xx_only(sink: SmtpSink, to: str, retryable: bool) -> None:
    relay = relay_to(sink.port)
    try:
        with pytest.raises(ProviderError) as refused:
            await send(relay, to=to)
        assert refused.value.retryable is retryable
        await send(relay, 1)  # the session survives a refusal
        assert relay.connects == 1
    finally:
        await relay.close()


@pytest.mark.parametrize(("mode", "retryable"), [("permanent", False), ("temporary", True)])
async def test_a_refused_message_is_permanent_on_5xx_only(sink: SmtpSink, mode: str, retryable: bool) -> None:
    set_sink_fault(sink.maildir, mode, remaining=1)
    relay = relay_to(sink.port)
    try:
        with pytest.raises(ProviderError) as refused:
            await send(relay)
        assert refused.value.retryable is retryable
    finally:
        await relay.close()


async def test_no_answer_within_the_timeout_is_a_provider_exception(sink: SmtpSink) -> None:
    relay = relay_to(sink.port, timeout=0.3)
    try:
        with pytest.raises(ProviderError, match="no answer") as slow:
            await send(relay, to="smtp-slow@example.com")
        assert slow.value.retryable
        await send(relay, 1)  # on a new session: the timed-out one is never reused
        assert relay.connects == 2
    finally:
        await relay.close()


async def test_an_unreachable_relay_is_retryable() -> None:
    relay = relay_to(free_port())
    with pytest.raises(ProviderError) as unreachable:
        await send(relay)
    assert unreachable.value.retryable


# --- TLS and login, against aiosmtpd directly -------------------------------------------------------------------


class Collect:
    def __init__(self) -> None:
        self.received: list[tuple[str, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((envelope.mail_from, encrypted))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"me", b"s3cret")
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1, trusted by this test's clients (SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
async def test_tls_and_login_come_from_the_url(certificate: ssl.SSLContext, scheme: str) -> None:
    handler, port = Collect(), free_port()
    # aiosmtpd knows only its own STARTTLS as TLS, so with implicit TLS it must be told AUTH is safe already.
    tls: dict[str, Any] = (
        {"tls_context": certificate, "require_starttls": True}
        if scheme == "smtp+starttls"
        else {"ssl_context": certificate, "auth_require_tls": False}
    )
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_required=True, **tls
    )
    controller.start()
    try:
        relay = SmtpRelay(SmtpTarget.parse(f"{scheme}://me:s3cret@127.0.0.1:{port}"), timeout=5.0)
        try:
            await send(relay)
        finally:
            await relay.close()
        wrong = SmtpRelay(SmtpTarget.parse(f"{scheme}://me:wrong@127.0.0.1:{port}"), timeout=5.0)
        with pytest.raises(ProviderError, match="SMTPAuthenticationError") as refused:
            await send(wrong)
        assert refused.value.retryable  # our configuration's fault, not the message's: the message waits for a fix
    finally:
        controller.stop()
    assert handler.received == [(SENDER, True)]

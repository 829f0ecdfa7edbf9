"""Email hand-over over real SMTP (aiosmtplib): one connection per worker process, reused, reopened when it drops.

Opening an SMTP session costs several round trips (greeting, EHLO, perhaps STARTTLS and AUTH), several times the
cost of one message, so the worker keeps one session open and sends every email through it, one transaction at a
time. A relay closes idle sessions; a send that finds its reused session gone reconnects and tries once more, which
is safe because the message carries its notification's `Message-ID` (a relay that de-duplicates, like the
development sink, drops the second copy).

Every failure becomes a `ProviderError` saying whether a retry can help (notify spec §16.3): no answer within the
timeout (which covers waiting for the session, connecting and the whole transaction), a dropped connection, or a
`4xx` answer can; a `5xx` refusal of the message's sender, recipient or content cannot. Refusals of the session
itself (EHLO, AUTH) are retried: they are our configuration's fault, not the message's, and a fix lets the
waiting messages through.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import Message
from urllib.parse import unquote, urlsplit

import aiosmtplib

from gaap.logging import get_logger
from services.notify.delivery.providers import ProviderError

log = get_logger("notify.delivery.smtp")

#: URL scheme → (implicit TLS, STARTTLS, default port).
SCHEMES = {"smtp": (False, False, 25), "smtp+starttls": (False, True, 587), "smtps": (True, False, 465)}
#: Session-level refusals: configuration, not this message (see the module docstring).
_SESSION_REFUSALS = (aiosmtplib.SMTPHeloError, aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPConnectError)


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to reach the relay, parsed from `NOTIFY_SMTP_URL`."""

    hostname: str
    port: int
    use_tls: bool = False
    start_tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"an SMTP URL looks like smtp://[user:password@]host[:port] ({', '.join(SCHEMES)})")
        use_tls, start_tls, default_port = SCHEMES[parts.scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            use_tls=use_tls,
            start_tls=start_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    @property
    def encrypted(self) -> bool:
        return self.use_tls or self.start_tls

    @property
    def loopback(self) -> bool:
        return self.hostname in {"127.0.0.1", "::1", "localhost"}


def classify(exc: Exception) -> ProviderError:
    """The `ProviderError` for what aiosmtplib (or the network) raised."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return ProviderError(f"recipient refused: {detail}", retryable=not all(code >= 500 for code in codes))
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, _SESSION_REFUSALS):
        return ProviderError(f"relay answered {exc.code} {exc.message}", retryable=exc.code < 500)
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        return ProviderError(f"the relay cannot take this message: {exc}", retryable=False)
    return ProviderError(f"{type(exc).__name__}: {exc}")


class SmtpRelay:
    """The worker's SMTP session. `send` is safe to call from concurrent tasks: they take turns on the session."""

    def __init__(self, target: SmtpTarget, *, timeout: float, local_hostname: str | None = None) -> None:
        self.target = target
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._client: aiosmtplib.SMTP | None = None
        self._turn = asyncio.Lock()
        #: How many sessions this relay has opened (tests check that one is reused).
        self.connects = 0

    async def send(self, message: Message, *, sender: str, recipient: str) -> str:
        """Hand `message` to the relay for `recipient`; the relay's answer to DATA, or `ProviderError`."""
        try:
            async with asyncio.timeout(self.timeout), self._turn:
                try:
                    return await self._transaction(message, sender, recipient)
                except BaseException as exc:
                    # After a refusal the session is still in step (aiosmtplib sent RSET); after anything else
                    # (a timeout's cancellation included) its state is unknown, so it is not reused.
                    if not isinstance(exc, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused):
                        self._drop()
                    raise
        except TimeoutError as exc:
            raise ProviderError(f"no answer from {self.target.hostname} within {self.timeout:g} s") from exc
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            raise classify(exc) from exc

    async def _transaction(self, message: Message, sender: str, recipient: str) -> str:
        reused = self._client is not None and self._client.is_connected
        client = await self._session()
        try:
            _refused, reply = await client.send_message(message, sender=sender, recipients=[recipient])
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            log.info("notify.smtp.reconnecting", host=self.target.hostname)  # the relay closed an idle session
            self._drop()
            client = await self._session()
            _refused, reply = await client.send_message(message, sender=sender, recipients=[recipient])
        return reply

    async def _session(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        self._drop()
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            start_tls=target.start_tls,
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )
        await client.connect()  # greeting, then STARTTLS and AUTH when configured
        self._client = client
        self.connects += 1
        log.info("notify.smtp.connected", host=target.hostname, port=target.port, tls=target.encrypted)
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def close(self) -> None:
        """Say goodbye to the relay (at worker shutdown)."""
        async with self._turn:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    async with asyncio.timeout(self.timeout):
                        await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()

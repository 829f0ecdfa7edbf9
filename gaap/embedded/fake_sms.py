"""A fake SMS provider: two carriers behind one small HTTP app, for development and tests.

Notify's delivery pipeline talks to it over real HTTP as it would to MMG or Firetext, so provider adapters,
failover, receipts and inbound texts are exercised without a carrier. Each provider (default `mmg`,
`firetext`; credentials `<provider>` / `<provider>-dev-password` unless configured) has:

- `POST /{provider}/messages`, HTTP Basic auth, JSON `{"reference", "to", "content", "sender",
  "receipt_url"}`: 200 `{"id", "status": "accepted"}`; 401 for wrong credentials; 409 for a `reference` this
  provider already accepted, counted as a duplicate so a test can prove nothing was sent twice.
- a delivery receipt `receipt_delay_seconds` later, POSTed with the same Basic credentials to the message's
  `receipt_url` (else `--receipt-url`): `{"reference", "id", "status", "to", "timestamp"}`, retried with
  doubling waits for about a minute, as providers do (a receipt may overtake the worker that records the hand-over,
  and is answered 409 until it is recorded). Numbers ending `7700900003` end `temporary-failure`, `7700900002`
  `permanent-failure`, others `delivered` (notify's simulator rules); control `pending_first` sends `pending` before
  the final status.
- `POST /{provider}/inbound` `{"to", "from", "content"}` (no auth: it plays the citizen's phone): forwarded
  with the provider's Basic credentials to `--inbound-url` as `{"id", "provider", "to", "from", "content",
  "received_at"}`; 502 if the webhook does not take it.
- faults: `PUT /control/{provider}` `{"mode": "ok"|"error"|"slow"|"drop_receipts", "delay_seconds",
  "error_status", "receipt_delay_seconds", "pending_first"}` (omitted fields take their defaults),
  `GET /control/{provider}`, `POST /control/reset` (`{"clear_messages": true}` also forgets all messages).
  `error` answers `error_status` (default 500) and stores nothing; `slow` reads the request, then waits
  `delay_seconds` before storing and answering (a caller that stops waiting still has its text sent);
  `drop_receipts` accepts but never reports the messages accepted while it is set.

`GET /messages?provider=&to=&limit=` lists accepted texts newest first; `GET /stats` gives the counters.
State lives in SQLite under the store directory (`gaap.embedded.inbox.SmsStore`): it survives restarts
(receipts still due are resumed at start-up) and other processes can read it.
Run: `python -m gaap.embedded.fake_sms --port 8026 --store var/sms`; credentials come from `--auth
PROVIDER=USER:PASSWORD` or, kept off the command line, `FAKE_SMS_AUTH=PROVIDER=USER:PASSWORD,...` (what
`gaap up` uses, with a password made for its data dir).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gaap import logging as gaap_logging
from gaap.embedded.inbox import SmsStore, TextMessage, normalise_number, utc_now_iso

log = structlog.get_logger("gaap.embedded.fake_sms")

PROVIDERS = ("mmg", "firetext")
MODES = ("ok", "error", "slow", "drop_receipts")
_RESERVED = {"control", "messages", "stats"}
_MAX_DELAY = 600.0
#: `PROVIDER=USER:PASSWORD[,...]`: the credentials, from the environment rather than the command line.
AUTH_ENV = "FAKE_SMS_AUTH"


def default_credentials(provider: str) -> tuple[str, str]:
    return provider, f"{provider}-dev-password"


def outcome_for(number: str) -> str:
    """The final receipt status for a number: notify's simulator rules (spec §3.5)."""
    digits = normalise_number(number)
    if digits.endswith("7700900003"):
        return "temporary-failure"
    if digits.endswith("7700900002"):
        return "permanent-failure"
    return "delivered"


class Refused(Exception):
    """An answer other than success, rendered as `{"error", "message", ...}` by the app's one handler."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _bad_request(message: str) -> Refused:
    return Refused(400, "bad_request", message)


async def _render_refusal(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    headers = {"WWW-Authenticate": 'Basic realm="fake-sms"'} if exc.status == 401 else None
    body = {"error": exc.code, "message": exc.message, **exc.extra}
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise _bad_request("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    return body


def _text_field(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad_request(f"{name} must be a non-empty string")
    return value


def _validated_control(body: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"mode", "delay_seconds", "error_status", "receipt_delay_seconds", "pending_first"}
    if unknown := set(body) - allowed:
        raise _bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
    if body.get("mode", "ok") not in MODES:
        raise _bad_request(f"mode must be one of {', '.join(MODES)}")
    for name in ("delay_seconds", "receipt_delay_seconds"):
        value = body.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _MAX_DELAY:
            raise _bad_request(f"{name} must be a number of seconds between 0 and {_MAX_DELAY:g}")
    status = body.get("error_status", 500)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise _bad_request("error_status must be an HTTP status from 400 to 599")
    if not isinstance(body.get("pending_first", False), bool):
        raise _bad_request("pending_first must be true or false")
    return dict(body)


class FakeSmsProvider:
    """The behaviour behind the routes: auth, faults, de-duplication, receipts and inbound forwarding."""

    def __init__(
        self,
        store_dir: Path,
        providers: Sequence[str] = PROVIDERS,
        *,
        credentials: Mapping[str, tuple[str, str]] | None = None,
        inbound_url: str | None = None,
        receipt_url: str | None = None,
        receipt_delay_seconds: float = 1.0,
        receipt_attempts: int = 8,
        receipt_retry_seconds: float = 0.5,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if bad := _RESERVED.intersection(providers):
            raise ValueError(f"provider names clash with routes: {', '.join(sorted(bad))}")
        self.providers = tuple(providers)
        self.credentials = {p: (credentials or {}).get(p) or default_credentials(p) for p in self.providers}
        self.inbound_url = inbound_url
        self.receipt_url = receipt_url
        self.receipt_delay_seconds = receipt_delay_seconds
        self.receipt_attempts = max(1, receipt_attempts)
        self.receipt_retry_seconds = receipt_retry_seconds
        self.store = SmsStore(store_dir)
        self._client = http_client
        self._owns_client = http_client is None
        self._tasks: set[asyncio.Task[None]] = set()

    async def startup(self) -> None:
        """Resume receipts that were due when the last process stopped."""
        for message in self.store.due_receipts():
            if message.provider in self.providers:
                self._schedule_receipt(message)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None
        self.store.close()

    async def wait_for_receipts(self) -> None:
        """Wait until every scheduled receipt has been sent or given up (for tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def control(self, provider: str) -> dict[str, Any]:
        defaults = {
            "mode": "ok",
            "delay_seconds": 0.0,
            "error_status": 500,
            "receipt_delay_seconds": self.receipt_delay_seconds,
            "pending_first": False,
        }
        return {**defaults, **self.store.get_control(provider)}

    def provider_of(self, request: Request) -> str:
        provider = str(request.path_params["provider"])
        if provider not in self.providers:
            raise Refused(404, "not_found", f"no provider {provider!r}")
        return provider

    def authorised(self, request: Request, provider: str) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        want_user, want_password = self.credentials[provider]
        user_ok = hmac.compare_digest(user.encode(), want_user.encode())
        password_ok = hmac.compare_digest(password.encode(), want_password.encode())
        return user_ok and password_ok

    def _client_for_posts(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=5.0)
        return self._client

    async def _post(self, url: str, payload: dict[str, Any], provider: str) -> int | None:
        """POST, retrying connection errors and non-2xx answers: the last status code, None if unreachable."""
        status: int | None = None
        for attempt in range(self.receipt_attempts):
            if attempt:
                await asyncio.sleep(self.receipt_retry_seconds * 2 ** (attempt - 1))
            try:
                response = await self._client_for_posts().post(url, json=payload, auth=self.credentials[provider])
                status = response.status_code
            except httpx.HTTPError as exc:
                log.info("fake_sms.post_failed", url=url, attempt=attempt + 1, error=repr(exc))
                continue
            if 200 <= status < 300:
                return status
        return status

    def _schedule_receipt(self, message: TextMessage) -> None:
        task = asyncio.get_running_loop().create_task(self._send_receipts(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_receipts(self, message: TextMessage) -> None:
        await asyncio.sleep(max(0.0, (message.receipt_due_at or 0) - time.time()))
        assert message.receipt_url is not None
        final = outcome_for(message.to)
        statuses = ["pending", final] if self.control(message.provider)["pending_first"] else [final]
        for status in statuses:
            payload = {
                "reference": message.reference,
                "id": message.id,
                "status": status,
                "to": message.to,
                "timestamp": utc_now_iso(),
            }
            code = await self._post(message.receipt_url, payload, message.provider)
            if code is None or not 200 <= code < 300:
                self.store.record_receipt(message.id, status=None, receipt_state="failed")
                self.store.count(message.provider, "receipt_failures")
                log.warning("fake_sms.receipt_failed", id=message.id, status_code=code)
                return
            self.store.count(message.provider, "receipts_sent")
            done = status == final
            self.store.record_receipt(message.id, status=status, receipt_state="sent" if done else "due")

    async def send(self, request: Request) -> JSONResponse:
        """Accept a text for delivery, unless this provider is told to fail or has seen the reference."""
        provider = self.provider_of(request)
        if not self.authorised(request, provider):
            raise Refused(401, "unauthorised", "wrong or missing Basic credentials")
        control = self.control(provider)
        if control["mode"] == "error":
            self.store.count(provider, "errors")
            raise Refused(int(control["error_status"]), "injected_error", f"{provider} is failing (injected)")
        body = await _json_object(request)
        reference, to, content = (str(_text_field(body, n)) for n in ("reference", "to", "content"))
        sender = _text_field(body, "sender", required=False)
        receipt_url = _text_field(body, "receipt_url", required=False)
        if control["mode"] == "slow":
            # The request has been read: like a real provider, the fake keeps the text even if the caller stops
            # waiting for the answer (the "answer lost" case a retry with the same reference must survive).
            await asyncio.sleep(float(control["delay_seconds"]))
        if receipt_url is None and self.receipt_url:
            receipt_url = self.receipt_url.format(provider=provider)
        state = "dropped" if control["mode"] == "drop_receipts" else "due" if receipt_url else "none"
        message, created = self.store.accept(
            provider=provider,
            reference=reference,
            to=to,
            content=content,
            sender=sender,
            receipt_url=receipt_url,
            receipt_state=state,
            receipt_due_at=time.time() + float(control["receipt_delay_seconds"]),
        )
        if not created:
            log.info("fake_sms.duplicate", provider=provider, reference=reference)
            raise Refused(409, "duplicate_reference", f"{provider} already has it", id=message.id)
        if state == "due":
            self._schedule_receipt(message)
        return JSONResponse({"id": message.id, "status": "accepted"})

    async def inbound(self, request: Request) -> JSONResponse:
        """Simulate a citizen texting one of our numbers: forward it to the inbound webhook."""
        provider = self.provider_of(request)
        if not self.inbound_url:
            raise Refused(409, "no_inbound_url", "start the fake with --inbound-url to forward inbound texts")
        body = await _json_object(request)
        to, sender, content = (str(_text_field(body, n)) for n in ("to", "from", "content"))
        payload = {
            "id": str(uuid.uuid4()),
            "provider": provider,
            "to": to,
            "from": sender,
            "content": content,
            "received_at": utc_now_iso(),
        }
        code = await self._post(self.inbound_url.format(provider=provider), payload, provider)
        if code is None or not 200 <= code < 300:
            raise Refused(502, "inbound_webhook_failed", "the webhook did not accept it", status_code=code)
        self.store.count(provider, "inbound")
        return JSONResponse({"id": payload["id"], "forwarded": True, "status_code": code})

    async def get_control(self, request: Request) -> JSONResponse:
        provider = self.provider_of(request)
        return JSONResponse(self.control(provider))

    async def put_control(self, request: Request) -> JSONResponse:
        """Replace a provider's fault settings (omitted fields go back to their defaults)."""
        provider = self.provider_of(request)
        settings = _validated_control(await _json_object(request))
        self.store.set_control(provider, settings)
        log.info("fake_sms.control", provider=provider, **settings)
        return JSONResponse(self.control(provider))

    async def reset(self, request: Request) -> JSONResponse:
        """Every provider back to `ok`; `{"clear_messages": true}` also forgets messages and counters."""
        body = await _json_object(request) if await request.body() else {}
        self.store.reset(clear_messages=bool(body.get("clear_messages")))
        return JSONResponse({provider: self.control(provider) for provider in self.providers})

    async def messages(self, request: Request) -> JSONResponse:
        """Accepted texts, newest first, for the developer inbox and tests."""
        try:
            limit = min(max(int(request.query_params.get("limit", 50)), 1), 1000)
        except ValueError as exc:
            raise _bad_request("limit must be an integer") from exc
        found = self.store.list_messages(
            provider=request.query_params.get("provider") or None,
            to=request.query_params.get("to") or None,
            limit=limit,
        )
        return JSONResponse({"messages": [m.as_dict() for m in found]})

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.store.stats(self.providers))


def create_fake_sms_app(store_dir: Path, providers: Sequence[str] = PROVIDERS, **options: Any) -> Starlette:
    """The ASGI app; `options` go to `FakeSmsProvider` (credentials, URLs, receipt timing, http_client)."""
    fake = FakeSmsProvider(Path(store_dir), providers, **options)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await fake.startup()
        try:
            yield
        finally:
            await fake.shutdown()

    app = Starlette(
        routes=[
            Route("/messages", fake.messages, methods=["GET"]),
            Route("/stats", fake.stats, methods=["GET"]),
            Route("/control/reset", fake.reset, methods=["POST"]),
            Route("/control/{provider}", fake.get_control, methods=["GET"]),
            Route("/control/{provider}", fake.put_control, methods=["PUT"]),
            Route("/{provider}/messages", fake.send, methods=["POST"]),
            Route("/{provider}/inbound", fake.inbound, methods=["POST"]),
        ],
        exception_handlers={Refused: _render_refusal},
        lifespan=lifespan,
    )
    app.state.fake = fake
    return app


def _credential(value: str) -> tuple[str, tuple[str, str]]:
    provider, sep, pair = value.partition("=")
    user, sep2, password = pair.partition(":")
    if not (sep and sep2 and provider and user and password):
        raise argparse.ArgumentTypeError("use PROVIDER=USER:PASSWORD")
    return provider, (user, password)


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gaap.embedded.fake_sms", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--store", type=Path, required=True, help="directory for the SQLite state (created)")
    parser.add_argument("--provider", action="append", dest="providers", help="repeatable; default mmg, firetext")
    parser.add_argument("--auth", action="append", type=_credential, default=[], help="PROVIDER=USER:PASSWORD")
    parser.add_argument("--inbound-url", help="webhook for inbound texts; may contain {provider}")
    parser.add_argument("--receipt-url", help="receipt URL for messages that give none; may contain {provider}")
    parser.add_argument("--receipt-delay", type=float, default=1.0, help="seconds before a receipt is sent")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    gaap_logging.configure("fake-sms", level=args.log_level)
    try:
        from_env = [_credential(part.strip()) for part in os.environ.get(AUTH_ENV, "").split(",") if part.strip()]
    except argparse.ArgumentTypeError as exc:
        parser.error(f"{AUTH_ENV}: {exc}")
    app = create_fake_sms_app(
        args.store,
        tuple(args.providers or PROVIDERS),
        credentials=dict([*from_env, *args.auth]),
        inbound_url=args.inbound_url,
        receipt_url=args.receipt_url,
        receipt_delay_seconds=args.receipt_delay,
    )
    import uvicorn  # only the command line needs the server

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal with the handler it found:
    # make that handler a clean exit, so a requested stop ends with status 0 like the SMTP sink's.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, lifespan="on")


if __name__ == "__main__":
    main()

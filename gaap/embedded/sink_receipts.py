"""The SMTP sink's receipts: what a provider's receipt service would tell notify about each message the sink
accepted (`smtp_sink`).

Given a `receipt_url` (notify's `/notifications/email/<provider>`, through the gateway), the sink plays
the provider's receipt service: `receipt_delay_seconds` after it accepts a message it POSTs
`{"message_id", "status", "recipient", "timestamp"}` with HTTP Basic credentials, in a JSON array with every other
receipt due by then (`ReceiptPoster`), retrying refusals and connection errors with backoff (honouring
`Retry-After`). A duplicate gets the receipt its first copy got, as a relay that
delivered the copy would send. The status is `delivered`, except for the recipients `receipt-permanent-bounce`
(`permanent-bounce`) and `receipt-transient-bounce` (`transient-bounce`); `receipt-drop` never gets one. Counted as
`receipts_sent`, `receipt_failures` and `receipts_dropped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog

log = structlog.get_logger("gaap.embedded.smtp_sink")

RECEIPT_DROP_LOCAL_PART = "receipt-drop"
#: Recipients whose receipt reports a bounce; every other accepted message is `delivered`.
RECEIPT_OUTCOMES = {"receipt-permanent-bounce": "permanent-bounce", "receipt-transient-bounce": "transient-bounce"}
RECEIPT_AUTH_ENV = "SMTP_SINK_RECEIPT_AUTH"
#: The most receipts the sink posts in one request (notify takes up to 1,000).
RECEIPT_BATCH = 500


def local_part(address: str) -> str:
    """The local part that steers the sink, lowercased and without its `+tag`."""
    return address.strip("<>").rpartition("@")[0].split("+", 1)[0].lower()


@dataclass(frozen=True)
class ReceiptSettings:
    """Where and how the sink reports what became of the messages it accepted."""

    url: str
    username: str
    password: str
    delay_seconds: float = 0.5
    #: With the default backoff (doubling from 0.25 s, at most 30 s apart) about three minutes of retries: enough
    #: for a receipt that overtook the worker, a restart of notify, or the gateway's rate limit to pass.
    attempts: int = 12
    retry_seconds: float = 0.25
    #: At most one post this often (unless a full batch is waiting): receipts that fall due meanwhile share it, as a
    #: provider's event webhook gathers a moment's events into one request.
    batch_seconds: float = 0.05

    @classmethod
    def from_env(cls, url: str, delay_seconds: float) -> ReceiptSettings:
        user, sep, password = os.environ.get(RECEIPT_AUTH_ENV, "").partition(":")
        if not sep:
            raise SystemExit(f"{RECEIPT_AUTH_ENV} must hold the receipt credentials as user:password")
        return cls(url=url, username=user, password=password, delay_seconds=delay_seconds)


def receipt_status(recipient: str) -> str | None:
    """The outcome the sink reports for a recipient; None when it reports nothing."""
    local = local_part(recipient)
    if local == RECEIPT_DROP_LOCAL_PART:
        return None
    return RECEIPT_OUTCOMES.get(local, "delivered")


@dataclass(eq=False)
class _Receipt:
    """One receipt waiting to be posted: what it says, when it is due, and how many posts it has had."""

    message_id: str
    recipient: str
    status: str
    due: float
    tries: int = 0

    def body(self) -> dict[str, str]:
        return {
            "message_id": f"<{self.message_id}>",
            "status": self.status,
            "recipient": self.recipient,
            "timestamp": datetime.now(UTC).isoformat(),
        }


class ReceiptPoster:
    """Posts receipts from one background task on the sink's event loop, in batches: at most one post every
    `batch_seconds` (unless a full batch is waiting), carrying every receipt due by then (a JSON array of up to
    `RECEIPT_BATCH`), so under load one request carries hundreds of receipts and a lone receipt waits at most
    `batch_seconds` more. notify answers a batch with one
    answer per receipt; those it asks to `retry` (the message overtook the worker's record of it), and every
    receipt of a post that failed, are posted again with backoff. `aclose` drops what is still waiting."""

    def __init__(self, settings: ReceiptSettings, count: Callable[[str, int], None]) -> None:
        self.settings = settings
        self._count = count
        #: aiohttp, not httpx: httpx's client cost the sink about 2 ms of CPU a receipt, several times what storing
        #: the message costs (docs/benchmarks.md, "Delivery").
        self._client: aiohttp.ClientSession | None = None
        self._waiting: list[_Receipt] = []
        self._wake = asyncio.Event()
        self._sleeping_until = math.inf
        self._task: asyncio.Task[None] | None = None

    def schedule(self, message_id: str, recipient: str) -> None:
        status = receipt_status(recipient)
        if status is None:
            self._count("receipts_dropped", 1)
            return
        loop = asyncio.get_running_loop()
        receipt = _Receipt(message_id, recipient, status, loop.time() + self.settings.delay_seconds)
        self._waiting.append(receipt)
        if receipt.due < self._sleeping_until:
            self._wake.set()  # it falls due before the poster means to look again
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="smtp-sink-receipts")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_post = -math.inf
        while self._waiting:
            now = loop.time()
            due = [r for r in self._waiting if r.due <= now][:RECEIPT_BATCH]
            ready_at = max(min(r.due for r in self._waiting), last_post + self.settings.batch_seconds)
            if len(due) < RECEIPT_BATCH and ready_at > now:
                self._wake.clear()
                self._sleeping_until = ready_at
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), ready_at - now)
                self._sleeping_until = math.inf
                continue
            taken = {id(r) for r in due}
            self._waiting = [r for r in self._waiting if id(r) not in taken]
            last_post = loop.time()
            await self._post(due)

    async def _post(self, batch: list[_Receipt]) -> None:
        settings = self.settings
        if self._client is None:
            self._client = aiohttp.ClientSession(
                headers={"Authorization": aiohttp.encode_basic_auth(settings.username, settings.password)},
                timeout=aiohttp.ClientTimeout(total=5.0),
            )
        status: int | None = None
        retry_after: str | None = None
        answers: Any = None
        try:
            async with self._client.post(settings.url, json=[r.body() for r in batch]) as response:
                status, retry_after = response.status, response.headers.get("retry-after")
                raw = await response.read()
            if response.ok:
                with contextlib.suppress(ValueError):
                    answers = json.loads(raw)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("smtp_sink.receipts_unreachable", count=len(batch), error=repr(exc))
        if status is None or not 200 <= status < 300:
            again = batch
        else:
            # A 2xx takes every receipt but those the answer asks to post again.
            results = [a.get("result") if isinstance(a, dict) else None for a in answers or []]
            again = [r for r, result in zip(batch, results, strict=False) if result == "retry"]
            sent = len(batch) - len(again)
            if sent:
                self._count("receipts_sent", sent)  # one write of the stats file for the batch
            log.info("smtp_sink.receipts_sent", count=sent)
        now = asyncio.get_running_loop().time()
        for receipt in again:
            receipt.tries += 1
            if receipt.tries >= settings.attempts:
                self._count("receipt_failures", 1)
                log.warning("smtp_sink.receipt_failed", message_id=receipt.message_id, status_code=status)
                continue
            backoff = settings.retry_seconds * 2 ** (receipt.tries - 1)
            receipt.due = now + _retry_delay(backoff, status, retry_after)
            self._waiting.append(receipt)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._waiting.clear()
        if self._client is not None:
            await self._client.close()
            self._client = None


def _retry_delay(backoff: float, status: int | None, retry_after: str | None) -> float:
    """The backoff (at most 30 s), or a 429's `Retry-After` seconds (at most a minute) when it asks for longer."""
    backoff = min(backoff, 30.0)
    if status == 429 and retry_after and retry_after.isdigit():
        return max(backoff, min(float(retry_after), 60.0))
    return backoff

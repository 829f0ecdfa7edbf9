"""The print provider's HTTP API (notify spec §16.5): letters are handed over in batches, each with its PDF.

The adapter speaks the API the development fake serves (`gaap.embedded.fake_print`), with HTTP Basic
credentials (`NOTIFY_PRINT_PROVIDER_CREDENTIALS`):

- `POST <url>/batches` `{"batch_id", "letters": [{"reference", "postage", "address": [lines], "pages",
  "pdf": base64}]}`, answered `{"batch_id", "letters": [{"reference", "result", "message"}]}` where `result` is
  `accepted`, `duplicate` (the provider already holds that reference: taken before, by a call whose answer was
  lost) or `refused` (this letter cannot be printed, with the provider's reason).
- `POST <url>/letters/lookup` `{"references": [...]}`, answered `{"held": [...]}`: which of these letters the
  provider already holds. The collation asks before it hands over again letters whose last hand-over may have
  reached the provider (a timeout, a crash mid-call), so a letter is never sent to print twice.

The reference is the notification id. Failures become a `ProviderError` that says whether a retry can help and
whether the provider certainly has none of the batch (`unsent`), as for the SMS providers (`sms_api`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from services.notify.delivery.providers import ProviderError

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
#: Answers that refuse the batch as written: sending the same request again cannot help.
_REFUSES_THE_BATCH = {400, 413, 422}
#: A gateway in front of the provider gave up waiting: the provider behind it may still have taken the batch.
_MAY_HAVE_TAKEN = {502, 504}


@dataclass(frozen=True)
class PrintLetter:
    """One letter as the provider is sent it."""

    reference: str
    postage: str
    address: list[str]
    pages: int
    pdf: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "postage": self.postage,
            "address": self.address,
            "pages": self.pages,
            "pdf": base64.b64encode(self.pdf).decode("ascii"),
        }


@dataclass(frozen=True)
class LetterResult:
    """The provider's word on one letter of a batch: `accepted`, `duplicate` or `refused` (with `message`)."""

    result: str
    message: str | None = None

    @property
    def held(self) -> bool:
        return self.result in (ACCEPTED, DUPLICATE)


class PrintApi:
    """The provider's API on one pooled HTTP client: `send_batch` and `held`, or `ProviderError`."""

    def __init__(self, name: str, *, base_url: str, credentials: str | None, timeout: float) -> None:
        self.name = name
        self.url = base_url.rstrip("/")
        user, _, password = (credentials or "").partition(":")
        auth = httpx.BasicAuth(user, password) if credentials else None
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), auth=auth)
        self.timeout = timeout

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self.timeout):  # the whole call, not each phase of it
                response = await self.client.post(f"{self.url}{path}", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProviderError(f"{self.name} could not be reached: {exc!r}", unsent=True) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderError(f"no answer from {self.name} within {self.timeout:g} s") from exc
        except httpx.TransportError as exc:  # the request may have gone out before the connection broke
            raise ProviderError(f"{self.name}: {exc!r}") from exc
        status = response.status_code
        detail = f"{self.name} answered {status}: {response.text[:200]}"
        if not response.is_success:
            if status in _MAY_HAVE_TAKEN:
                raise ProviderError(detail)
            raise ProviderError(detail, retryable=status not in _REFUSES_THE_BATCH, unsent=True)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ProviderError(f"{self.name} answered {status} without a JSON object")  # may have taken it
        return answer

    async def send_batch(self, batch_id: str, letters: Sequence[PrintLetter]) -> dict[str, LetterResult]:
        """Hand a batch over; every letter of it gets a result (a letter the answer leaves out is refused)."""
        answer = await self._post("/batches", {"batch_id": batch_id, "letters": [x.as_json() for x in letters]})
        results: dict[str, LetterResult] = {}
        for item in answer.get("letters") or []:
            if isinstance(item, dict) and item.get("result") in (ACCEPTED, DUPLICATE, REFUSED):
                message = item.get("message")
                results[str(item.get("reference"))] = LetterResult(
                    str(item["result"]), str(message)[:500] if message else None
                )
        missing = LetterResult(REFUSED, f"{self.name} did not say whether it took the letter")
        return {x.reference: results.get(x.reference, missing) for x in letters}

    async def held(self, references: Sequence[str]) -> set[str]:
        """Which of `references` the provider already holds."""
        answer = await self._post("/letters/lookup", {"references": list(references)})
        held = answer.get("held")
        if not isinstance(held, list):
            raise ProviderError(f"{self.name}'s lookup answer has no list of held letters")
        return {str(reference) for reference in held} & set(references)

    async def close(self) -> None:
        await self.client.aclose()

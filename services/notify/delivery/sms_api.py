"""The SMS providers' HTTP APIs (notify spec §16.2): `mmg` and `firetext`, one pooled httpx client per worker.

Both adapters speak the provider API that the development fake serves (`gaap.embedded.fake_sms`): `POST
<url>/<provider>/messages` with HTTP Basic credentials and `{"reference", "to", "content", "sender"}`, answered
`{"id"}`. The reference is the notification id, and the provider refuses a reference it already has with 409:
that answer means the text was accepted before (by a call whose answer we lost), so it counts as accepted and is
never sent again.

Every failure becomes a `ProviderError` saying whether a retry can help and whether the provider certainly does
not have the text (`unsent`): a refusal it answered with, or a connection that never opened, is unsent; a call
that timed out or broke after the request went out may have been taken, so its retry must go to the same
provider (see `sms.SmsChannel`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from services.notify.delivery.providers import ProviderError

#: The providers an adapter exists for (`NOTIFY_SMS_PROVIDERS` may name only these).
ADAPTERS = ("mmg", "firetext")
#: Answers that refuse this text for good: retrying the same request cannot help.
_REFUSES_THE_MESSAGE = {400, 413, 422}
#: A gateway in front of the provider gave up waiting: the provider behind it may still have taken the text.
_MAY_HAVE_TAKEN = {504}
#: What the provider's 409 says when it already has our reference.
DUPLICATE = "duplicate_reference"


@dataclass(frozen=True)
class Accepted:
    """The provider took the text; `id` is its own message id (None if it did not say)."""

    id: str | None
    duplicate: bool = False


def http_client(timeout: float, *, max_connections: int = 100) -> httpx.AsyncClient:
    """The worker's one pooled client for every provider."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), limits=limits)


def _answer_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    ident = body.get("id") if isinstance(body, dict) else None
    return str(ident) if ident is not None else None


def _is_duplicate(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == DUPLICATE


class SmsApi:
    """One provider's API: `send` hands one text over, or raises `ProviderError`."""

    def __init__(
        self, name: str, client: httpx.AsyncClient, *, base_url: str, credentials: str | None, timeout: float
    ) -> None:
        if name not in ADAPTERS:
            raise ValueError(f"there is no SMS adapter for {name!r} (there are: {', '.join(ADAPTERS)})")
        self.name = name
        self.client = client
        self.url = f"{base_url.rstrip('/')}/{name}/messages"
        user, _, password = (credentials or "").partition(":")
        self.auth = httpx.BasicAuth(user, password) if credentials else None
        self.timeout = timeout

    async def send(self, *, reference: str, to: str, content: str, sender: str | None) -> Accepted:
        body = {"reference": reference, "to": to, "content": content, "sender": sender}
        try:
            async with asyncio.timeout(self.timeout):  # the whole call, not each phase of it
                response = await self.client.post(self.url, json=body, auth=self.auth or httpx.USE_CLIENT_DEFAULT)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProviderError(f"{self.name} could not be reached: {exc!r}", unsent=True) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderError(f"no answer from {self.name} within {self.timeout:g} s") from exc
        except httpx.TransportError as exc:  # the request may have gone out before the connection broke
            raise ProviderError(f"{self.name}: {exc!r}") from exc
        status = response.status_code
        if response.is_success:
            return Accepted(_answer_id(response))
        if status == 409 and _is_duplicate(response):
            return Accepted(_answer_id(response), duplicate=True)
        detail = f"{self.name} answered {status}: {response.text[:200]}"
        if status in _MAY_HAVE_TAKEN:
            raise ProviderError(detail)
        raise ProviderError(detail, retryable=status not in _REFUSES_THE_MESSAGE, unsent=True)

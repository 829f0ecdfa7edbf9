"""gaap-client: a typed Python client for GaaP's Notify- and Pay-compatible APIs, sync and async.

from gaap_client import Platform

with Platform(base_url, notify_key=..., pay_key=...) as platform:
    platform.notify.send_email("someone@example.gov.uk", template_id, personalisation={"name": "Ada"})
    payment = platform.pay.create_payment(1250, "INV-1", "Bulky waste collection", "https://example.gov.uk/done")
"""

from __future__ import annotations

from typing import Any

from gaap_client._core import RetryPolicy
from gaap_client._version import __version__
from gaap_client.errors import APIError, GaapError, InvalidSignature, RateLimitedError, TransportError
from gaap_client.identity import AsyncIdentityClient, AuthorizationRequest, IdentityClient, SignedIn, SignInError
from gaap_client.notify import AsyncNotifyClient, NotifyClient
from gaap_client.pay import AsyncPayClient, PayClient
from gaap_client.webhooks import verify_webhook

__all__ = [
    "APIError",
    "AsyncIdentityClient",
    "AsyncNotifyClient",
    "AsyncPayClient",
    "AsyncPlatform",
    "AuthorizationRequest",
    "GaapError",
    "IdentityClient",
    "InvalidSignature",
    "NotifyClient",
    "PayClient",
    "Platform",
    "RateLimitedError",
    "RetryPolicy",
    "SignInError",
    "SignedIn",
    "TransportError",
    "__version__",
    "verify_webhook",
]


def _missing(name: str) -> GaapError:
    return GaapError(f"no {name}_key was given to the Platform")


class Platform:
    """One entry point for a department's service: `platform.notify` and `platform.pay`, for the keys given."""

    def __init__(
        self, base_url: str, *, notify_key: str | None = None, pay_key: str | None = None, **options: Any
    ) -> None:
        self._notify = NotifyClient(base_url, notify_key, **options) if notify_key else None
        self._pay = PayClient(base_url, pay_key, **options) if pay_key else None

    @property
    def notify(self) -> NotifyClient:
        if self._notify is None:
            raise _missing("notify")
        return self._notify

    @property
    def pay(self) -> PayClient:
        if self._pay is None:
            raise _missing("pay")
        return self._pay

    def close(self) -> None:
        for client in (self._notify, self._pay):
            if client is not None:
                client.close()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncPlatform:
    """`Platform` for asyncio: `await platform.notify.send_email(...)`."""

    def __init__(
        self, base_url: str, *, notify_key: str | None = None, pay_key: str | None = None, **options: Any
    ) -> None:
        self._notify = AsyncNotifyClient(base_url, notify_key, **options) if notify_key else None
        self._pay = AsyncPayClient(base_url, pay_key, **options) if pay_key else None

    @property
    def notify(self) -> AsyncNotifyClient:
        if self._notify is None:
            raise _missing("notify")
        return self._notify

    @property
    def pay(self) -> AsyncPayClient:
        if self._pay is None:
            raise _missing("pay")
        return self._pay

    async def aclose(self) -> None:
        for client in (self._notify, self._pay):
            if client is not None:
                await client.aclose()

    async def __aenter__(self) -> AsyncPlatform:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

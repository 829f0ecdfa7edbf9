"""Sending codes through the platform's notify API, as any department calls it (spec §9.2): an httpx call to the
gateway's `/v2/notifications/email` with identity's own live Notify key, signed per request as the official
client signs (an HS256 JWT with `iss` = the key's service id and `iat`).

Timeout 5 s, and one retry on a 5xx or a connection failure with the same `Idempotency-Key`, so a retried send
goes out once. Codes never appear in logs.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt

from gaap.logging import get_logger

log = get_logger("identity.notify")


class NotifyUnavailable(Exception):
    """The code could not be sent; the page says so and nothing is counted against the user."""


class NotifyClient:
    def __init__(
        self, base_url: str, api_key: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.service_id, self.secret = api_key[-73:-37], api_key[-36:]
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    def _token(self) -> str:
        return jwt.encode({"iss": self.service_id, "iat": int(time.time())}, self.secret, algorithm="HS256")

    async def send_email(self, email: str, template_id: str, personalisation: dict[str, Any], purpose: str) -> str:
        """Send a templated email; returns the notification id."""
        if not self.secret or not template_id:
            raise NotifyUnavailable("no Notify key or template configured")
        send_id = uuid.uuid4()
        reference = f"identity:{purpose}:{send_id}"
        body = {
            "email_address": email,
            "template_id": template_id,
            "personalisation": personalisation,
            "reference": reference,
        }
        idempotency = {"Idempotency-Key": f"identity-{purpose}-{send_id}"}
        for attempt in (1, 2):
            try:
                response = await self.http.post(
                    "/v2/notifications/email",
                    json=body,
                    headers={"Authorization": f"Bearer {self._token()}", **idempotency},
                )
            except httpx.HTTPError as exc:
                log.warning("identity.notify_failed", purpose=purpose, attempt=attempt, error=type(exc).__name__)
                continue
            if response.status_code == 201:
                return str(response.json()["id"])
            log.warning("identity.notify_refused", purpose=purpose, attempt=attempt, status=response.status_code)
            if response.status_code < 500:
                break
        raise NotifyUnavailable(f"notify did not accept the {purpose} email")

    async def close(self) -> None:
        await self.http.aclose()

"""Sending codes through the platform's notify API with the platform's own SDK (`gaap_client`), as any department
sends them (spec §9.2): identity's live Notify key, the gateway's address. The SDK signs a token per request and
retries a failed send with the same `Idempotency-Key`, so a retried code goes out once. Codes never appear in logs.

The template is `IDENTITY_NOTIFY_TEMPLATE_EMAIL_CODE` when it is configured. Otherwise identity finds its own
template by name among its service's templates, and creates it if it is missing (identity's key has the
`manage_templates` scope), so a new platform needs no step of its own before identity can send codes.
"""

from __future__ import annotations

import uuid
from typing import Any

from gaap_client import AsyncNotifyClient, GaapError, RetryPolicy

from gaap.logging import get_logger

log = get_logger("identity.notify")

EMAIL_CODE_TEMPLATE = {
    "name": "GaaP sign-in: email code",
    "subject": "Your GaaP security code",
    "body": "Your security code is ((code)).\n\nIt expires in ((expiry_minutes)) minutes.\n\n"
    "If you did not ask for this code, you can ignore this email.",
}


class NotifyUnavailable(Exception):
    """The code could not be sent; the page says so and nothing is counted against the user."""


class NotifyClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float, template_id: str = "") -> None:
        self.client = (
            AsyncNotifyClient(base_url, api_key, timeout=timeout, retry=RetryPolicy(attempts=2, backoff=0.2))
            if api_key
            else None
        )
        self.template_id = template_id

    async def _email_code_template(self, client: AsyncNotifyClient) -> str:
        if not self.template_id:
            name = EMAIL_CODE_TEMPLATE["name"]
            found = [t["id"] for t in await client.templates(template_type="email") if t["name"] == name]
            if found:
                self.template_id = found[0]
            else:
                made = await client.create_template(
                    name, "email", EMAIL_CODE_TEMPLATE["body"], subject=EMAIL_CODE_TEMPLATE["subject"]
                )
                self.template_id = made["id"]
                log.info("identity.notify_template_created", template_id=self.template_id)
        return self.template_id

    async def send_email_code(self, email: str, personalisation: dict[str, Any], purpose: str) -> str:
        """Send an emailed code; returns the notification id, or raises `NotifyUnavailable`."""
        if self.client is None:
            raise NotifyUnavailable("no Notify key is configured")
        send_id = uuid.uuid4()
        try:
            template_id = await self._email_code_template(self.client)
            sent = await self.client.send_email(
                email,
                template_id,
                personalisation=personalisation,
                reference=f"identity:{purpose}:{send_id}",
                idempotency_key=f"identity-{purpose}-{send_id}",
            )
        except GaapError as exc:
            log.warning("identity.notify_failed", purpose=purpose, error=type(exc).__name__)
            raise NotifyUnavailable(f"notify did not accept the {purpose} email") from exc
        return sent["id"]

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

"""Sending codes through the platform's notify API with the platform's own SDK (`gaap_client`), as any department
sends them (spec §9.2): identity's live Notify key, the gateway's address. The SDK signs a token per request and
retries a failed send with the same `Idempotency-Key`, so a retried code goes out once. Codes never appear in logs.

Three templates: the emailed code, the texted code (both on notify's priority lane) and the account notice. Each is
`IDENTITY_NOTIFY_TEMPLATE_EMAIL_CODE`, `_SMS_CODE` or `_ACCOUNT_NOTICE` when configured. Otherwise identity finds
its own template by name among its service's templates, and creates it if it is missing (identity's key has the
`manage_templates` scope), so a new platform needs no step of its own before identity can send codes.
"""

from __future__ import annotations

import uuid
from typing import Any

from gaap_client import AsyncNotifyClient, GaapError, RetryPolicy

from gaap.logging import get_logger
from gaap.notify_templates import OwnTemplates, TemplateSpec

log = get_logger("identity.notify")

EMAIL_CODE_TEMPLATE = TemplateSpec(
    name="GaaP sign-in: email code",
    subject="Your GaaP security code",
    body="Your security code is ((code)).\n\nIt expires in ((expiry_minutes)) minutes.\n\n"
    "If you did not ask for this code, you can ignore this email.",
    process_type="priority",
)
SMS_CODE_TEMPLATE = TemplateSpec(
    name="GaaP sign-in: text message code",
    body="((code)) is your GaaP security code. It expires in ((expiry_minutes)) minutes.",
    template_type="sms",
    process_type="priority",
)
#: Tells the account's owner something changed (a new password, a new second factor), in the page's language.
ACCOUNT_NOTICE_TEMPLATE = TemplateSpec(
    name="GaaP sign-in: account notice",
    subject="((subject))",
    body="((message))\n\n((advice))",
)


class NotifyUnavailable(Exception):
    """The code could not be sent; the page says so and nothing is counted against the user."""


class NotifyClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float,
        template_id: str = "",
        sms_template_id: str = "",
        notice_template_id: str = "",
    ) -> None:
        self.client = (
            AsyncNotifyClient(base_url, api_key, timeout=timeout, retry=RetryPolicy(attempts=2, backoff=0.2))
            if api_key
            else None
        )
        self.templates = OwnTemplates(
            {
                EMAIL_CODE_TEMPLATE.name: template_id,
                SMS_CODE_TEMPLATE.name: sms_template_id,
                ACCOUNT_NOTICE_TEMPLATE.name: notice_template_id,
            }
        )

    async def send_email_code(self, email: str, personalisation: dict[str, Any], purpose: str) -> str:
        """Send an emailed code; returns the notification id, or raises `NotifyUnavailable`."""
        if self.client is None:
            raise NotifyUnavailable("no Notify key is configured")
        send_id = uuid.uuid4()
        try:
            template_id = await self.templates.id_of(self.client, EMAIL_CODE_TEMPLATE)
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

    async def send_sms_code(self, phone_number: str, personalisation: dict[str, Any], purpose: str) -> str:
        """Text a code to an E.164 number; returns the notification id, or raises `NotifyUnavailable`."""
        if self.client is None:
            raise NotifyUnavailable("no Notify key is configured")
        send_id = uuid.uuid4()
        try:
            template_id = await self.templates.id_of(self.client, SMS_CODE_TEMPLATE)
            sent = await self.client.send_sms(
                phone_number,
                template_id,
                personalisation=personalisation,
                reference=f"identity:{purpose}:{send_id}",
                idempotency_key=f"identity-{purpose}-{send_id}",
            )
        except GaapError as exc:
            # The status and notify's error code only: a message could echo what was sent.
            status, code = getattr(exc, "status_code", None), getattr(exc, "code", None)
            log.warning("identity.notify_failed", purpose=purpose, error=type(exc).__name__, status=status, code=code)
            raise NotifyUnavailable(f"notify did not accept the {purpose} text") from exc
        return sent["id"]

    async def send_notice(self, email: str, subject: str, message: str, advice: str, purpose: str) -> str | None:
        """Email the account's owner that something changed. A notice that cannot be sent is logged and the change
        stands (it is already made): returns the notification id, or None."""
        if self.client is None:
            log.warning("identity.notice_not_sent", purpose=purpose, error="no Notify key is configured")
            return None
        send_id = uuid.uuid4()
        try:
            template_id = await self.templates.id_of(self.client, ACCOUNT_NOTICE_TEMPLATE)
            sent = await self.client.send_email(
                email,
                template_id,
                personalisation={"subject": subject, "message": message, "advice": advice},
                reference=f"identity:{purpose}:{send_id}",
                idempotency_key=f"identity-{purpose}-{send_id}",
            )
        except GaapError as exc:
            log.warning("identity.notice_not_sent", purpose=purpose, error=type(exc).__name__)
            return None
        return str(sent["id"])

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

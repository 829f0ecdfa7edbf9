"""Sending invitation emails through the platform's notify API with the platform's SDK (`gaap_client`), as any
department sends email: the console's own live Notify key (`GATEWAY_NOTIFY_API_KEY`, the platform's "GaaP console"
service) and the gateway's public address (`GATEWAY_NOTIFY_BASE_URL`).

The template is the console's own, found by name among its service's templates and created when missing (the key
has `manage_templates`), like identity's code template, so a new platform needs no step before the console can
invite anyone. It is bilingual: the invitee's language is not known, so the email says it in English and Welsh.
The send carries the invitation's id as its idempotency key, so the SDK's retry cannot send it twice.
"""

from __future__ import annotations

from typing import Any

import structlog
from gaap_client import AsyncNotifyClient, GaapError, RetryPolicy

from gaap.notify_templates import OwnTemplates, TemplateSpec
from gaap.pages import Pages
from gateway.invitations.models import Invitation
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.invitations")
TEMPLATE_NAME = "GaaP console: team invitation"
#: Each paragraph of the email, as a message id: the template holds the English, then the Welsh.
SUBJECT = "You are invited to join ((service_name))"
PARAGRAPHS = (
    "((invited_by)) has invited you to join ((service_name)) on the GaaP console.",
    "Use this link to sign in and accept the invitation:",
    "((link))",
    "The link works once, until ((expires)). If you were not expecting this email, you can ignore it.",
)
TIMEOUT = 10.0


class InvitationNotSent(Exception):
    """Notify did not take the email (no key configured, or notify refused or could not be reached)."""


def template_body(pages: Pages) -> tuple[str, str]:
    """The template's subject and body: English, then Welsh."""
    english = "\n\n".join(PARAGRAPHS)
    welsh = "\n\n".join(pages.gettext("cy", text) for text in PARAGRAPHS)
    subject = f"{SUBJECT} / {pages.gettext('cy', SUBJECT)}"
    return subject, f"{english}\n\n---\n\n{welsh}"


class InvitationMailer:
    """Built once per gateway app, on first use; the template's id is remembered once found or made."""

    def __init__(self, settings: GatewaySettings, pages: Pages) -> None:
        self.settings = settings
        self.pages = pages
        self.templates = OwnTemplates()

    async def _template(self, client: AsyncNotifyClient) -> str:
        subject, body = template_body(self.pages)
        return await self.templates.id_of(client, TemplateSpec(TEMPLATE_NAME, body, subject))

    async def send(self, invitation: Invitation, *, service_name: str, link: str) -> str:
        """Send the invitation; returns notify's notification id, or raises `InvitationNotSent`."""
        key = self.settings.notify_api_key.get_secret_value()
        if not key:
            log.error("the console cannot send invitations: GATEWAY_NOTIFY_API_KEY is not set")
            raise InvitationNotSent("no Notify key is configured")
        personalisation: dict[str, Any] = {
            "service_name": service_name,
            "invited_by": invitation.invited_by,
            "link": link,
            "expires": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        retry = RetryPolicy(attempts=2, backoff=0.2)
        try:
            async with AsyncNotifyClient(self.settings.notify_api_url, key, timeout=TIMEOUT, retry=retry) as client:
                sent = await client.send_email(
                    invitation.email,
                    await self._template(client),
                    personalisation=personalisation,
                    reference=f"console-invitation:{invitation.id}",
                    idempotency_key=f"console-invitation-{invitation.id}",
                )
        except GaapError as exc:
            log.warning("gateway.invitation_not_sent", invitation=str(invitation.id), error=type(exc).__name__)
            raise InvitationNotSent(f"notify did not accept the invitation: {exc}") from exc
        return str(sent["id"])

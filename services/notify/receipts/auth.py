"""Who may post a receipt or an inbound text: a configured provider, with its HTTP Basic credentials.

The gateway forwards these paths without key checks and with an anonymous principal token (ARCHITECTURE, "The
gateway"), so the token says only that the request came through the gateway; the provider's own credential is
checked here, in constant time: the email provider's against `NOTIFY_EMAIL_RECEIPT_CREDENTIALS`, each SMS
provider's against its entry in `NOTIFY_SMS_WEBHOOK_CREDENTIALS`, the print provider's against
`NOTIFY_PRINT_WEBHOOK_CREDENTIALS` (`user:password`). Missing credentials refuse
every request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import Depends, Request

from gaap.errors import NotFound, Unauthorized
from gaap.principal import AnyPrincipal
from services.notify.settings import NotifySettings

CHALLENGE = {"WWW-Authenticate": 'Basic realm="notify receipts", charset="UTF-8"'}


def basic_credentials(header: str | None) -> bytes | None:
    """The decoded `user:password` of an `Authorization: Basic ...` header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def check_basic(request: Request, expected: str | None) -> None:
    """401 unless the request carries exactly the `user:password` expected."""
    given = basic_credentials(request.headers.get("authorization"))
    want = (expected or "").encode()
    if not want or given is None or not hmac.compare_digest(given, want):
        raise Unauthorized("The provider's credentials are wrong or missing", headers=CHALLENGE)


async def _email_provider(provider: str, request: Request, principal: AnyPrincipal) -> str:
    settings: NotifySettings = request.app.state.settings
    if provider != settings.email_provider:
        raise NotFound(f"No email provider called {provider!r}", code="UnknownProvider")
    check_basic(request, settings.email_receipt_credentials.get_secret_value())
    return provider


async def _sms_provider(provider: str, request: Request, principal: AnyPrincipal) -> str:
    settings: NotifySettings = request.app.state.settings
    if provider not in settings.sms_resting_weights:
        raise NotFound(f"No SMS provider called {provider!r}", code="UnknownProvider")
    check_basic(request, settings.sms_webhook_credential(provider))
    return provider


async def _print_provider(provider: str, request: Request, principal: AnyPrincipal) -> str:
    settings: NotifySettings = request.app.state.settings
    if provider != settings.print_provider:
        raise NotFound(f"No print provider called {provider!r}", code="UnknownProvider")
    check_basic(request, settings.print_webhook_credentials.get_secret_value())
    return provider


#: The email provider whose receipt this is, authenticated.
EmailReceiptProvider = Annotated[str, Depends(_email_provider)]
#: The SMS provider posting a receipt or an inbound text, authenticated.
SmsWebhookProvider = Annotated[str, Depends(_sms_provider)]
#: The print provider posting a report on a letter, authenticated.
PrintReportProvider = Annotated[str, Depends(_print_provider)]

"""Who may post a receipt: the configured email provider, with its HTTP Basic credentials.

The gateway forwards receipt paths without key checks and with an anonymous principal token (ARCHITECTURE, "The
gateway"), so the token says only that the request came through the gateway; the provider's own credential is
checked here, against `NOTIFY_EMAIL_RECEIPT_CREDENTIALS` (`user:password`), in constant time. Empty credentials
refuse every receipt.
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


async def _email_provider(provider: str, request: Request, principal: AnyPrincipal) -> str:
    settings: NotifySettings = request.app.state.settings
    if provider != settings.email_provider:
        raise NotFound(f"No email provider called {provider!r}", code="UnknownProvider")
    expected = settings.email_receipt_credentials.get_secret_value().encode()
    given = basic_credentials(request.headers.get("authorization"))
    if not expected or given is None or not hmac.compare_digest(given, expected):
        raise Unauthorized("The provider's credentials are wrong or missing", headers=CHALLENGE)
    return provider


#: The email provider whose receipt this is, authenticated.
EmailReceiptProvider = Annotated[str, Depends(_email_provider)]

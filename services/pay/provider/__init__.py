"""Card providers behind one adapter interface (pay spec §13.5). `ADAPTERS` names every adapter (a live account's
`provider` setting must be one of them); the test account always uses the sandbox."""

from __future__ import annotations

from services.pay.provider.base import CardProvider
from services.pay.provider.sandbox import SandboxProvider
from services.pay.settings import PaySettings

ADAPTERS: dict[str, type[CardProvider]] = {SandboxProvider.name: SandboxProvider}


def can_refund(name: str) -> bool:
    """Whether payments taken through the named provider can be refunded (`refund_summary.status`)."""
    adapter = ADAPTERS.get(name)
    return adapter is not None and adapter.can_refund


def build_providers(settings: PaySettings) -> dict[str, CardProvider]:
    """One instance of each adapter per process, configured from settings."""
    return {SandboxProvider.name: SandboxProvider(auth_delay_ms=settings.sandbox_auth_delay_ms)}

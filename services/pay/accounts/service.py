"""Applying the gateway's service documents. Idempotent and ordered: the same document twice changes nothing, and
a document older than the one held (a retried push overtaken by a newer one) is ignored. Settings pay cannot honour
are refused with 422, which the gateway records for the console to show."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gaap.db.base import utcnow
from services.pay.accounts.models import MODES, Account
from services.pay.accounts.schemas import (
    AccountSettings,
    AccountState,
    InvalidServiceDocument,
    ModeSettings,
    ServiceDocument,
    ServiceState,
)
from services.pay.errors import pay_error
from services.pay.webhooks import config as webhooks

SANDBOX = "sandbox"
BRANDS = ("visa", "master-card", "american-express", "diners-club", "discover", "jcb", "unionpay", "maestro")
#: §13.4: new accounts accept every brand except Maestro, debit and credit.
DEFAULT_ACCEPTED_CARDS = [[brand, kind] for brand in BRANDS if brand != "maestro" for kind in ("debit", "credit")]
DEFAULTS: dict[str, Any] = {
    "block_prepaid_cards": False,
    "collect_billing_address": True,
    "email_collection_mode": "MANDATORY",
    "allow_moto": False,
    "allow_moto_api": False,
    "recurring_enabled": False,
    "allow_zero_amount": False,
    "redirect_to_service_immediately_on_terminal_state": False,
    "allow_card_retry": False,
    "disabled": False,
    "email_notifications": True,
    "email_custom_paragraph": None,
}


P0941 = "Creation of payments and refunds is disabled for this account. Please contact support"
P0940 = "Account is not fully configured. Please refer to documentation to setup your account or contact support."


def require_open(account: Account) -> None:
    """Payments and refunds need an enabled account (403 P0941) with a configured provider (403 P0940)."""
    if account.disabled or not account.service_active:
        raise pay_error(403, "P0941", P0941)
    if account.provider is None:
        raise pay_error(403, "P0940", P0940)


def _effective(common: AccountSettings, own: AccountSettings) -> dict[str, Any]:
    """The account's settings: its own, else the service-wide ones, else the §3 defaults."""
    values: dict[str, Any] = {}
    for name, default in DEFAULTS.items():
        mine, shared = getattr(own, name), getattr(common, name)
        values[name] = mine if mine is not None else shared if shared is not None else default
    cards = own.accepted_cards if own.accepted_cards is not None else common.accepted_cards
    pairs = sorted({(c.brand, c.type) for c in cards}) if cards is not None else DEFAULT_ACCEPTED_CARDS
    values["accepted_cards"] = [list(pair) for pair in pairs]
    surcharges = own.corporate_surcharges or common.corporate_surcharges
    values["corporate_surcharges"] = surcharges.model_dump() if surcharges is not None else {}
    return values


def _own(doc: ServiceDocument, mode: str) -> ModeSettings:
    return doc.settings.test if mode == "test" else doc.settings.live


def _provider(mode: str, doc: ServiceDocument, providers: Collection[str], allow_sandbox_live: bool) -> str | None:
    if mode == "test":
        return SANDBOX
    name = doc.settings.live.provider
    if name is None:
        return None
    if name not in providers:
        raise InvalidServiceDocument(f"unknown payment provider {name!r}: one of {', '.join(sorted(providers))}")
    if name == SANDBOX and not allow_sandbox_live:
        raise InvalidServiceDocument("a live account needs a real payment provider, not the sandbox")
    return name


async def apply_document(
    session: AsyncSession,
    service_id: uuid.UUID,
    doc: ServiceDocument,
    *,
    providers: Collection[str],
    allow_sandbox_live: bool,
) -> list[Account]:
    # Everything is checked before anything is written: a refused document leaves pay's copy untouched.
    chosen = {mode: _provider(mode, doc, providers, allow_sandbox_live) for mode in MODES}
    for mode in MODES:
        webhooks.check(mode, _own(doc, mode).webhooks)
    now = utcnow()
    accounts = []
    for mode in MODES:
        own = _own(doc, mode)
        provider = chosen[mode]
        account = await session.get(Account, (service_id, mode))
        if account is not None and account.version > doc.version:
            accounts.append(account)
            continue
        if account is None:
            account = Account(service_id=service_id, mode=mode)
            session.add(account)
        for name, value in _effective(doc.settings, own).items():
            setattr(account, name, value)
        if own.recurring_enabled is None and doc.settings.recurring_enabled is None:
            # §8: recurring payments are on by default where no real money moves (the sandbox), off otherwise.
            account.recurring_enabled = provider == SANDBOX
        account.provider = provider
        account.organisation_id = doc.organisation_id
        account.service_name = doc.name
        account.service_active = doc.active
        account.version = doc.version
        account.updated_at = now
        accounts.append(account)
    await session.flush()
    for account in accounts:
        if account.version == doc.version:
            await webhooks.apply(session, account, _own(doc, account.mode).webhooks, now)
    return accounts


async def get_account(session: AsyncSession, service_id: uuid.UUID, mode: str) -> Account | None:
    account: Account | None = await session.get(Account, (service_id, mode))
    return account


async def state(session: AsyncSession, service_id: uuid.UUID) -> ServiceState:
    rows = (
        (await session.execute(select(Account).where(Account.service_id == service_id).order_by(Account.mode)))
        .scalars()
        .all()
    )
    newest = max(rows, key=lambda a: a.version)
    return ServiceState(
        id=service_id,
        version=newest.version,
        name=newest.service_name,
        active=newest.service_active,
        accounts=[
            AccountState(
                mode=a.mode,
                provider=a.provider,
                disabled=a.disabled,
                allow_moto=a.allow_moto,
                allow_moto_api=a.allow_moto_api,
                allow_zero_amount=a.allow_zero_amount,
                accepted_cards=a.accepted_cards,
            )
            for a in rows
        ],
    )

"""Who is calling pay's API: the account the gateway authenticated, as (service, mode) (pay spec §2, §3).

The gateway puts the Pay key's type (`live` or `test`) in the principal token; that is the account's mode. Reads
need nothing more: they are scoped to the account by query. Creating payments and refunds also needs the account's
settings, which `account_of` loads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from gaap.db.engine import Database
from gaap.principal import InvalidPrincipal, Principal, ServicePrincipal
from services.pay.accounts.models import MODES, Account
from services.pay.accounts.service import get_account
from services.pay.errors import account_error


@dataclass(frozen=True)
class Caller:
    principal: Principal
    service_id: uuid.UUID
    mode: str


async def _caller(principal: ServicePrincipal) -> Caller:
    if principal.key_type not in MODES or principal.service_id is None:
        raise InvalidPrincipal("A Pay API call needs a principal with a Pay key type")
    return Caller(principal, uuid.UUID(principal.service_id), principal.key_type)


#: A caller with a Pay key: its account is (service_id, mode).
PayCaller = Annotated[Caller, Depends(_caller)]


async def account_of(db: Database, service_id: uuid.UUID, mode: str) -> Account:
    """The account's settings, read without taking SQLite's write lock (the request's own write transaction has
    not begun yet, and the idempotency record must be written before it does). 500 P0199 while the gateway has not
    pushed the service yet."""
    async with db.read_session() as session:
        account = await get_account(session, service_id, mode)
        if account is None:
            raise account_error()
        session.expunge(account)
    return account

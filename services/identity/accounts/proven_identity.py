"""The proven identity on the account page (spec §10.6): the user can see what the service holds about them, and
delete it. The record is decrypted only for this page, in a `Cl.Cm` session; deleting it takes effect at once for
relying parties (no core identity JWT is stored: the next UserInfo call finds nothing), and a later request for a
level of confidence asks the user to prove their identity again."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts.access import ACCOUNT, CHANGED, fully_signed_in, not_signed_in
from services.identity.deps import Op
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.pages import PAGE_RESPONSES, go, page
from services.identity.proving.models import IdentityRecord

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
PROVEN_IDENTITY = ACCOUNT + "/proven-identity"
LEVELS = {1: N_("Low confidence (P1)"), 2: N_("Medium confidence (P2)")}


def long_date(value: date | datetime, language: str) -> str:
    """`21 November 2026` (or `21 Tachwedd 2026`), as GOV.UK writes dates."""
    return format_date(value, "d MMMM y", locale=language)


def _address(claim: dict[str, Any]) -> list[str]:
    street = " ".join(
        p for p in (claim.get("buildingNumber") or claim.get("buildingName"), claim.get("streetName")) if p
    )
    return [line for line in (street, claim.get("addressLocality"), claim.get("postalCode")) if line]


def summary(proven: IdentityRecord, language: str) -> dict[str, Any]:
    """What the page shows of the record: level, when checked, names, dates of birth, addresses, documents."""
    details = json.loads(proven.details)
    names = [" ".join(part["value"] for part in name["nameParts"]) for name in details.get("name", [])]
    births = [long_date(date.fromisoformat(b["value"]), language) for b in details.get("birthDate", [])]
    documents = [f"{p['documentNumber']}" for p in details.get("passport", [])]
    licences = [f"{d['personalNumber']}" for d in details.get("drivingPermit", [])]
    return {
        "level": LEVELS.get(proven.vot, LEVELS[1]),
        "checked": long_date(proven.verified_at, language),
        "names": names,
        "births": births,
        "addresses": [_address(a) for a in details.get("address", [])],
        "passports": documents,
        "licences": licences,
        "sandbox": bool(details.get("sandbox")),
    }


@router.get(PROVEN_IDENTITY)
async def proven_identity_page(request: Request, op: Op, db: DbSession) -> Response:
    """What the service holds about the user's proven identity."""
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    proven = await db.get(IdentityRecord, user.id)
    if proven is None:
        return await go(op, session, ACCOUNT)
    language = request.app.state.pages.language(request)
    return await page(op, request, session, "identity/proven_identity.html", summary(proven, language))


@router.post(PROVEN_IDENTITY)
async def delete_proven_identity(request: Request, op: Op, db: DbSession, _: CsrfProtected) -> Response:
    session, user = await fully_signed_in(op, request, db)
    if user is None:
        return await not_signed_in(op, session)
    proven = await db.get(IdentityRecord, user.id)
    if proven is not None:
        await db.delete(proven)
        record(db, "identity_deleted", user_id=user.id)
        session.journey[CHANGED] = "identity-deleted"
    return await go(op, session, ACCOUNT)

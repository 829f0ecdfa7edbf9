"""The proven-identity step of replacing a lost second factor (spec §9.6, second bullet; `lost_factor.py` is the
rest of the journey). A password and an inbox alone must not take over an identity that was proven with documents,
so an account holding one chooses: answer knowledge-based questions about the person in the stored record (a fresh
check, spec §10.4) to keep it, or delete it. Nothing is changed here: keeping or deleting the identity takes effect
in the transaction that stores the new factor (`lost_factor.finish_recovery`), so a journey given up halfway
changes nothing.

The questions come from the configured `KbvSource` (spec §10.5), the proving journey's own, started with the name,
date of birth and addresses the stored record holds, never anything typed now. The check passes when it reaches the
verification score the record's GPG 45 profile needs (spec §10.2): the score that stands behind the identity's
level, so keeping the identity keeps that level honest, and no stricter than proving it again would be. For the
`P2` profiles (M1A, M1B, M2B: verification 2) that is 3 correct answers of 3; for `L1A` (`P1`, verification 1), 2
of 3. The original journey's own KBV score is not stored, and anything less than the profile's need would leave a
level no fresh evidence supports. A contra-indicator (`V01`, fewer than 2 correct) fails the check at once, as it
ends a proving journey. After a failure the only way on is deleting the identity (or stopping); one attempt per 24
hours is shared with the proving journey (`proving/kbv_attempts.py`). When the source has no questions for the
person, or cannot be reached, the user is told, and may delete the identity or come back later.

The choice and each outcome are security events.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gaap.db.deps import DbSession
from gaap.logging import get_logger
from gaap.pages import CsrfProtected, PageRoute
from services.identity.accounts.lost_factor import PROVEN_IDENTITY, RECOVER, signed_in_with_password
from services.identity.accounts.models import User
from services.identity.deps import Op, Provider
from services.identity.events import record
from services.identity.i18n import N_
from services.identity.oidc.authorization import SIGN_IN
from services.identity.pages import PAGE_RESPONSES, field_error, go, page
from services.identity.proving import kbv_attempts
from services.identity.proving.models import IdentityRecord
from services.identity.proving.scoring import BY_NAME, EvidenceRecord
from services.identity.proving.sources import Address, KbvQuestions, Person, SourceUnavailable
from services.identity.sessions.store import BrowserSession

_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
router = APIRouter(
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    tags=["pages"],
    responses={**PAGE_RESPONSES, 503: {"description": "The knowledge-based source is unavailable", "content": _HTML}},
)
log = get_logger("identity.lost_factor")
QUESTIONS = RECOVER + "/security-questions"
SECOND_FACTOR = RECOVER + "/second-factor"
FORM, CHOICE = "identity/form.html", "identity/choice.html"
#: The best verification score knowledge-based questions give (3 correct of 3, spec §10.4).
KBV_BEST = 2
KEEP, DELETE = "questions", "delete"
SANDBOX = N_("These checks are simulated: no real records are used.")
REALLY_YOU = N_("We use these questions to check it is really you. You can answer them once a day.")
AGAIN_LATER = N_("You can prove your identity again afterwards, when a service asks you to.")
#: Why the questions are not offered (any more) in this journey: what the page says, first.
NOT_OFFERED = {
    "failed": N_("Your answers to the security questions did not match our records."),
    "used": N_("You have already answered security questions in the last 24 hours. You can try again after 24 hours."),
    "no_questions": N_("We could not find any security questions to ask you. You can try again later."),
    "out_of_reach": N_("Your identity was proved in a way that security questions cannot check again."),
}
Errors = list[dict[str, str]]


def required_verification(profile: str) -> int:
    """The verification score a fresh check must reach to keep an identity proven to `profile` (at least 1; the best
    KBV gives for a profile this service does not know)."""
    known = BY_NAME.get(profile)
    return max(known.verification, 1) if known is not None else KBV_BEST


def passes(result: EvidenceRecord, required: int) -> bool:
    return not result.ci and (result.verificationScore or 0) >= required


def claimant(proven: IdentityRecord) -> tuple[Person, list[Address]]:
    """The person and addresses in the stored record (its claim shapes, `proving/journey.identity_details`): what the
    questions are about."""
    details = json.loads(proven.details)
    parts = details["name"][0]["nameParts"]
    given = tuple(p["value"] for p in parts if p["type"] == "GivenName")
    family = " ".join(p["value"] for p in parts if p["type"] == "FamilyName")
    person = Person(given, family, date.fromisoformat(details["birthDate"][0]["value"]))
    addresses = [
        Address(
            postal_code=a["postalCode"],
            building=a.get("buildingNumber") or a.get("buildingName", ""),
            street=a.get("streetName", ""),
            locality=a.get("addressLocality", ""),
            valid_from=int(a["validFrom"][:4]) if a.get("validFrom") else None,
        )
        for a in details.get("address", [])
    ]
    return person, addresses


async def _at_this_step(
    op: Provider, request: Request, db: AsyncSession
) -> tuple[BrowserSession, User | None, IdentityRecord | None, Response | None]:
    """The session, user and stored identity when the journey is at this step; else where to send the browser."""
    session, user = await signed_in_with_password(op, request, db)
    journey = session.journey
    if user is None or not journey.get("recover_verified") or journey.get("recover_user") != str(user.id):
        return session, None, None, await go(op, session, RECOVER if user else SIGN_IN)
    proven = await db.get(IdentityRecord, user.id)
    if proven is None or journey.get("identity_kept"):  # nothing (left) to settle
        journey["identity_settled"] = True
        return session, user, None, await go(op, session, SECOND_FACTOR)
    return session, user, proven, None


async def _not_offered(op: Provider, session: BrowserSession, proven: IdentityRecord) -> str | None:
    """Why the questions cannot keep this identity now, or None when they can."""
    if reason := session.journey.get("kbv_outcome"):
        return str(reason)
    if required_verification(proven.profile) > KBV_BEST:
        return "out_of_reach"
    if await kbv_attempts.used_today(op, str(proven.user_id)):
        return "used"
    return None


def _paragraphs(op: Provider, *texts: str) -> list[str]:
    return [*texts, SANDBOX] if op.sources.sandbox else list(texts)


def _choice_form(op: Provider, errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("You have proved your identity"),
        "paragraphs": _paragraphs(
            op,
            N_("To keep your proven identity when you change how you get security codes, answer some security "
               "questions about yourself. You can answer them once a day."),
            N_("If you do not want to answer them, we will delete your proven identity."),
            AGAIN_LATER,
        ),
        "questions": [{"name": "identity", "legend": N_("What do you want to do?"), "options": [
            {"value": KEEP, "text": N_("Answer security questions to keep my proven identity")},
            {"value": DELETE, "text": N_("Delete my proven identity")}]}],
        "back_url": SIGN_IN + "/security-code",
        "errors": errors or [],
    }  # fmt: skip


def _delete_form(op: Provider, reason: str) -> dict[str, Any]:
    return {
        "heading": N_("You have proved your identity"),
        "paragraphs": _paragraphs(
            op,
            NOT_OFFERED[reason],
            N_("To change how you get security codes now, we need to delete your proven identity."),
            AGAIN_LATER,
        ),
        "button": N_("Delete my proven identity and continue"),
        "back_url": SIGN_IN + "/security-code",
        "errors": [],
    }


@router.get(PROVEN_IDENTITY)
async def proven_identity_page(request: Request, op: Op, db: DbSession) -> Response:
    """An account with a proven identity: answer security questions to keep it, or delete it."""
    session, _user, proven, elsewhere = await _at_this_step(op, request, db)
    if elsewhere is not None or proven is None:
        return elsewhere or await go(op, session, RECOVER)
    if reason := await _not_offered(op, session, proven):
        return await page(op, request, session, FORM, _delete_form(op, reason))
    return await page(op, request, session, CHOICE, _choice_form(op))


@router.post(PROVEN_IDENTITY)
async def choose(
    request: Request, op: Op, db: DbSession, _: CsrfProtected, identity: Annotated[str, Form()] = ""
) -> Response:
    """Keep the identity with the questions, or agree to its deletion with the new factor's commit. The page without
    the questions (they are not offered) posts no choice: deletion is all it asks for."""
    session, user, proven, elsewhere = await _at_this_step(op, request, db)
    if elsewhere is not None or user is None or proven is None:
        return elsewhere or await go(op, session, RECOVER)
    reason = await _not_offered(op, session, proven)
    if identity == DELETE or (reason is not None and identity == ""):
        record(db, "recovery_identity_choice", user_id=user.id, choice=DELETE)
        session.journey.update(identity_settled=True, delete_identity=True)
        return await go(op, session, SECOND_FACTOR)
    if reason is not None:  # the questions were offered on a page shown earlier, but not any more
        return await page(op, request, session, FORM, _delete_form(op, reason), 400)
    if identity != KEEP:
        errors = [field_error("identity", N_("Select what you want to do"))]
        return await page(op, request, session, CHOICE, _choice_form(op, errors), 400)
    if session.journey.get("recover_kbv"):  # asked already: the same questions, not new ones
        return await go(op, session, QUESTIONS)
    record(db, "recovery_identity_choice", user_id=user.id, choice=KEEP)
    person, addresses = claimant(proven)
    try:
        questions = await op.sources.kbv.start(person, addresses)
    except SourceUnavailable:
        record(db, "recovery_kbv_unavailable", user_id=user.id, reason="source_unavailable")
        message = N_("We could not ask you security questions at the moment. Try again later, or delete your "
                     "proven identity to continue.")  # fmt: skip
        return await page(op, request, session, CHOICE, _choice_form(op, [field_error("identity", message)]), 503)
    if not questions.questions:
        record(db, "recovery_kbv_unavailable", user_id=user.id, reason="no_questions")
        session.journey["kbv_outcome"] = "no_questions"
        return await go(op, session, PROVEN_IDENTITY)
    session.journey["recover_kbv"] = _as_form(questions)
    return await go(op, session, QUESTIONS)


def _as_form(questions: KbvQuestions) -> dict[str, Any]:
    """The source's questions as `choice.html` asks them (option values are the source's own answers)."""
    return {"session_id": questions.session_id, "questions": [
        {"name": q.id, "legend": q.text, "options": [{"value": o, "text": o} for o in q.options]}
        for q in questions.questions]}  # fmt: skip


def _questions_form(op: Provider, kbv: dict[str, Any], errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Answer security questions"),
        "paragraphs": _paragraphs(op, REALLY_YOU),
        "questions": kbv["questions"],
        "back_url": PROVEN_IDENTITY,
        "errors": errors or [],
    }


@router.get(QUESTIONS)
async def questions_page(request: Request, op: Op, db: DbSession) -> Response:
    """The knowledge-based questions about the person in the stored identity (one attempt a day)."""
    session, _user, _proven, elsewhere = await _at_this_step(op, request, db)
    if elsewhere is not None:
        return elsewhere
    kbv = session.journey.get("recover_kbv")
    if not kbv:
        return await go(op, session, PROVEN_IDENTITY)
    return await page(op, request, session, CHOICE, _questions_form(op, kbv))


@router.post(QUESTIONS)
async def answer(request: Request, op: Op, db: DbSession, _: CsrfProtected) -> Response:
    """Score the answers: a pass keeps the identity (with the new factor), a failure leaves only its deletion."""
    session, user, proven, elsewhere = await _at_this_step(op, request, db)
    if elsewhere is not None or user is None or proven is None:
        return elsewhere or await go(op, session, RECOVER)
    kbv = session.journey.get("recover_kbv")
    if not kbv:
        return await go(op, session, PROVEN_IDENTITY)
    form = await request.form()
    answers = {q["name"]: form.get(q["name"]) for q in kbv["questions"]}
    missing = [name for name, value in answers.items() if not isinstance(value, str) or not value]
    if missing:
        errors = [field_error(missing[0], N_("Answer every question"))]
        return await page(op, request, session, CHOICE, _questions_form(op, kbv, errors), 400)
    if not await kbv_attempts.take(op, str(user.id)):  # answered already today, here or while proving
        session.journey.pop("recover_kbv", None)
        session.journey["kbv_outcome"] = "used"
        record(db, "recovery_kbv_unavailable", user_id=user.id, reason="attempt_used")
        return await go(op, session, PROVEN_IDENTITY)
    try:
        result = await op.sources.kbv.answer(kbv["session_id"], {k: str(v) for k, v in answers.items()})
    except SourceUnavailable:
        await kbv_attempts.give_back(op, str(user.id))
        record(db, "recovery_kbv_unavailable", user_id=user.id, reason="source_unavailable")
        errors = [field_error(kbv["questions"][0]["name"], N_("We could not check your details at the moment. "
                                                              "Try again."))]  # fmt: skip
        return await page(op, request, session, CHOICE, _questions_form(op, kbv, errors), 503)
    session.journey.pop("recover_kbv", None)
    required = required_verification(proven.profile)
    kept = passes(result, required)
    record(
        db, "recovery_kbv_passed" if kept else "recovery_kbv_failed", user_id=user.id, txn=result.txn,
        source=result.source, verification=result.verificationScore, required=required, ci=list(result.ci),
    )  # fmt: skip
    if not kept:
        log.info("identity.recovery_kbv_failed", ci=list(result.ci))
        session.journey["kbv_outcome"] = "failed"
        return await go(op, session, PROVEN_IDENTITY)
    session.journey.update(identity_settled=True, identity_kept=True, delete_identity=False)
    return await go(op, session, SECOND_FACTOR)

"""The proving pages (spec §10.4): choose a document, its details, the address, the knowledge-based questions; then
evaluation, and back to the waiting authorization request. Plain forms with the kernel's CSRF token, no JavaScript,
English and Welsh like every identity page.

Local validation errors are shown on the form and cost nothing; a document that does not check out may be tried
again (3 attempts per document type); a contra-indicator ends the journey at once; a source that is down may be
retried, and after 3 tries the user goes back with `temporarily_unavailable`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from gaap.pages import CsrfProtected, PageRoute
from services.identity.clients.registry import RegisteredClient
from services.identity.deps import Op, Provider
from services.identity.i18n import N_
from services.identity.oidc import authorization
from services.identity.oidc.authorize import AuthorizationRequest
from services.identity.pages import PAGE_RESPONSES, field_error, go, page
from services.identity.proving import credential, documents, kbv_attempts
from services.identity.proving.journey import (
    DOCUMENT_ATTEMPTS,
    LICENCE,
    PASSPORT,
    UNAVAILABLE_TRIES,
    Proving,
    identity_details,
    return_code,
)
from services.identity.proving.scoring import EvidenceRecord, evaluate
from services.identity.proving.sources import DrivingLicenceDetails, PassportDetails, Person, SourceUnavailable
from services.identity.sessions.store import BrowserSession

router = APIRouter(route_class=PageRoute, default_response_class=HTMLResponse, tags=["pages"], responses=PAGE_RESPONSES)
PROVE = authorization.PROVE
DOCUMENT, ADDRESS, QUESTIONS, STOP = PROVE + "/document", PROVE + "/address", PROVE + "/questions", PROVE + "/stop"
FORM, CHOICE = "identity/form.html", "identity/choice.html"
STOP_LINK = {"href": STOP, "text": N_("Stop and return to the service")}
DATE_HINT = N_("Use the format YYYY-MM-DD, for example 1985-03-14")
UNAVAILABLE = N_("We could not check your details at the moment. Try again.")
Errors = list[dict[str, str]]


class Journey:
    """One request's view of the journey: the browser session, the waiting request and the proving state."""

    def __init__(self, op: Provider, request: Request, session: BrowserSession, auth: AuthorizationRequest) -> None:
        self.op, self.request, self.session, self.auth = op, request, session, auth
        self.state = Proving.load(session.journey.get("proving"), auth.vector.identity)

    @classmethod
    async def of(cls, op: Provider, request: Request) -> Journey | None:
        session = await op.sessions.load(request)
        if session is None or session.user_id is None or session.pending is None:
            return None
        auth = AuthorizationRequest.from_dict(session.pending)
        return cls(op, request, session, auth) if auth.vector.identity >= 1 else None

    async def show(self, template: str, context: dict[str, Any], status: int = 200) -> Response:
        self.session.journey["proving"] = self.state.dump()
        paragraphs = list(context.get("paragraphs", []))
        if self.op.sources.sandbox:
            paragraphs.append(N_("These checks are simulated: no real records are used."))
        context = {"links": [STOP_LINK], **context, "paragraphs": paragraphs}
        return await page(self.op, self.request, self.session, template, context, status)

    async def next(self, url: str) -> Response:
        self.session.journey["proving"] = self.state.dump()
        return await go(self.op, self.session, url)

    async def client(self) -> RegisteredClient | None:
        client = await self.op.clients.get(self.auth.client_id)
        return client if client is not None and client.active else None

    async def finish(self, *, unavailable: bool = False) -> Response:
        """End the journey: store a met identity and issue the code, or answer the relying party's failure."""
        self.session.journey.pop("proving", None)
        records = self.state.evidence()
        outcome = evaluate(records)
        code = return_code(records, outcome, self.auth.vector.identity)
        client = await self.client()
        if client is None:
            return authorization.lost_session(self.request)
        if not unavailable and code is None and outcome.profile is not None:
            assert self.session.user_id is not None
            async with self.request.app.state.db.write_session() as db:
                details = identity_details(self.state, self.op.sources.sandbox)
                await credential.store(db, self.session.user_id, outcome.level, outcome.profile, details)
            return await authorization.issue(self.op, self.request, self.session, self.auth, client, proved=True)
        self.session.pending = None
        if unavailable:
            answer = authorization.refuse(
                self.op, self.auth, "temporarily_unavailable", "Identity checks are unavailable"
            )
        elif code and credential.RETURN_CODE in ((self.auth.claims or {}).get("userinfo") or {}):
            return await authorization.issue(self.op, self.request, self.session, self.auth, client, code)
        else:
            answer = authorization.refuse(
                self.op, self.auth, "access_denied", "Identity verification was not completed"
            )
        await self.op.sessions.save(self.session, answer)
        return answer

    async def source_down(self, template: str, context: dict[str, Any]) -> Response:
        self.state.unavailable += 1
        if self.state.unavailable >= UNAVAILABLE_TRIES:
            return await self.finish(unavailable=True)
        return await self.show(template, {**context, "errors": [field_error(context["focus"], UNAVAILABLE)]}, 503)


async def _journey(op: Provider, request: Request) -> Journey | Response:
    journey = await Journey.of(op, request)
    return journey if journey is not None else authorization.lost_session(request)


def _choose(errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Prove your identity"),
        "paragraphs": [N_("You need a UK passport or a UK photocard driving licence.")],
        "questions": [{"name": "document", "legend": N_("Which document will you use?"), "options": [
            {"value": PASSPORT, "text": N_("UK passport")},
            {"value": LICENCE, "text": N_("UK photocard driving licence")}]}],
        "errors": errors or [],
    }  # fmt: skip


#: Every profile needs the knowledge-based check (spec §10.2, §10.4), allowed once a day per account: with the
#: day's attempt spent, the journey cannot succeed, so it says so before asking for anything.
NOT_TODAY = {
    "heading": N_("You cannot prove your identity today"),
    "paragraphs": [
        N_("You have already answered security questions in the last 24 hours. You can try again after 24 hours."),
        N_("You will go back to the service without proving your identity."),
    ],
    "button": N_("Return to the service"),
}


@router.get(PROVE)
async def choose_page(request: Request, op: Op) -> Response:
    """Start proving (or carry on): which document."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if await kbv_attempts.used_today(op, str(journey.session.user_id)):
        return await journey.show(FORM, {**NOT_TODAY, "links": []})
    return await journey.show(CHOICE, _choose())


@router.post(PROVE)
async def choose(request: Request, op: Op, _: CsrfProtected, document: Annotated[str, Form()] = "") -> Response:
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if await kbv_attempts.used_today(op, str(journey.session.user_id)):  # the page said so: back to the service
        return await journey.finish()
    if document not in (PASSPORT, LICENCE):
        errors = [field_error("document", N_("Select the document you will use"))]
        return await journey.show(CHOICE, _choose(errors), 400)
    return await journey.next(f"{DOCUMENT}/{document}")


def _person_fields(values: dict[str, str]) -> list[dict[str, Any]]:
    fields = [
        {"name": "given_names", "label": N_("Given names"), "autocomplete": "given-name"},
        {"name": "family_name", "label": N_("Last name"), "autocomplete": "family-name"},
        {"name": "birth_date", "label": N_("Date of birth"), "hint": DATE_HINT, "autocomplete": "bday"},
    ]
    return [{**f, "value": values.get(f["name"])} for f in fields]


DOCUMENT_FIELDS = {
    PASSPORT: [
        {"name": "number", "label": N_("Passport number"), "hint": N_("9 digits"), "inputmode": "numeric"},
        {"name": "expiry", "label": N_("Expiry date"), "hint": DATE_HINT},
        {"name": "mrz", "label": N_("Machine-readable line 2 (optional)"),
         "hint": N_("The second line of 44 characters at the bottom of the photo page")},
    ],
    LICENCE: [
        {"name": "number", "label": N_("Licence number"),
         "hint": N_("16 characters for DVLA licences, 8 digits for DVA (Northern Ireland) licences")},
        {"name": "issue_number", "label": N_("Issue number (DVLA licences)"), "inputmode": "numeric"},
        {"name": "expiry", "label": N_("Expiry date"), "hint": DATE_HINT},
    ],
}  # fmt: skip
HEADINGS = {PASSPORT: N_("Enter your passport details"), LICENCE: N_("Enter your driving licence details")}


def _document_form(kind: str, values: dict[str, str], errors: Errors | None = None) -> dict[str, Any]:
    fields = [{**f, "value": values.get(f["name"])} for f in DOCUMENT_FIELDS[kind]]
    return {"heading": HEADINGS[kind], "fields": _person_fields(values) + fields, "back_url": PROVE,
            "errors": errors or []}  # fmt: skip


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _validate(kind: str, values: dict[str, str]) -> tuple[Person | None, date | None, Errors]:
    """Local checks (spec §10.4); nothing here costs an attempt."""
    errors: Errors = []
    given, family = values.get("given_names", "").split(), values.get("family_name", "").strip()
    born, expiry = _date(values.get("birth_date", "")), _date(values.get("expiry", ""))
    number = values.get("number", "").replace(" ", "").upper()
    if not given:
        errors.append(field_error("given_names", N_("Enter your given names")))
    if not family:
        errors.append(field_error("family_name", N_("Enter your last name")))
    if born is None or born >= date.today():
        errors.append(field_error("birth_date", N_("Enter a real date in the format YYYY-MM-DD")))
    person = Person(tuple(given), family, born) if given and family and born else None
    if kind == PASSPORT:
        if not documents.valid_gbr_passport_number(number):
            errors.append(field_error("number", N_("Enter your passport number: 9 digits")))
        mrz = values.get("mrz", "").replace(" ", "").upper()
        if mrz and not documents.valid_td3_line2(mrz):
            errors.append(field_error("mrz", N_("The machine-readable line is not valid. Check it and try again.")))
        elif (
            mrz
            and expiry
            and born
            and (mrz[:9], mrz[13:19], mrz[21:27]) != (number, born.strftime("%y%m%d"), expiry.strftime("%y%m%d"))
        ):
            errors.append(field_error("mrz", N_("The machine-readable line does not match the details you entered")))
    elif not (
        documents.valid_dva_number(number)
        or (person is not None and documents.dvla_agrees(number, family, list(given), person.birth_date))
    ):
        errors.append(field_error("number", N_("Enter the licence number exactly as it is shown on your licence")))
    elif len(number) == 16 and not (values.get("issue_number", "").isdigit() and len(values["issue_number"]) == 2):
        errors.append(field_error("issue_number", N_("Enter the 2-digit issue number")))
    if expiry is None:
        errors.append(field_error("expiry", N_("Enter a real date in the format YYYY-MM-DD")))
    return (person if not errors else None), expiry, errors


async def _check(journey: Journey, kind: str, person: Person, expiry: date, values: dict[str, str]) -> EvidenceRecord:
    number = values["number"].replace(" ", "").upper()
    sources = journey.op.sources
    if kind == PASSPORT:
        journey.state.document = {"passport": [{"documentNumber": number, "icaoIssuerCode": "GBR",
                                                "expiryDate": expiry.isoformat()}]}  # fmt: skip
        return await sources.passport.check(PassportDetails(person, number, expiry))
    issued_by = "DVA" if documents.valid_dva_number(number) else "DVLA"
    issue = values.get("issue_number") if issued_by == "DVLA" else None
    permit = {"personalNumber": number, "issueNumber": issue, "issuedBy": issued_by, "expiryDate": expiry.isoformat()}
    journey.state.document = {"drivingPermit": [{k: v for k, v in permit.items() if v}]}
    return await sources.driving_licence.check(DrivingLicenceDetails(person, number, expiry, issued_by, issue))


@router.get(DOCUMENT + "/{kind}")
async def document_page(request: Request, op: Op, kind: str) -> Response:
    """The chosen document's details."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if kind not in DOCUMENT_FIELDS:
        return await journey.next(PROVE)
    return await journey.show(FORM, _document_form(kind, {}))


@router.post(DOCUMENT + "/{kind}")
async def check_document(request: Request, op: Op, _: CsrfProtected, kind: str) -> Response:
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if kind not in DOCUMENT_FIELDS:
        return await journey.next(PROVE)
    values = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    person, expiry, errors = _validate(kind, values)
    if errors or person is None or expiry is None:
        return await journey.show(FORM, _document_form(kind, values, errors), 400)
    try:
        record = await _check(journey, kind, person, expiry, values)
    except SourceUnavailable:
        return await journey.source_down(FORM, {**_document_form(kind, values), "focus": "number"})
    state = journey.state
    if record.ci or record.validityScore == 0:
        state.attempts[kind] = state.attempts.get(kind, 0) + 1
        if record.ci or state.attempts[kind] >= DOCUMENT_ATTEMPTS:
            state.add(record)
            return await journey.finish()
        message = N_("We could not match these details to a valid document. Check them and try again, or use "
                     "another document.")  # fmt: skip
        return await journey.show(FORM, _document_form(kind, values, [field_error("number", message)]), 400)
    state.records = [r for r in state.records if r.get("strengthScore") is None]
    state.add(record)
    state.person = {"given": list(person.given_names), "family": person.family_name,
                    "birth": person.birth_date.isoformat()}  # fmt: skip
    return await journey.next(ADDRESS)


ADDRESS_FIELDS = [
    {"name": "building", "label": N_("Building number or name"), "autocomplete": "address-line1"},
    {"name": "street", "label": N_("Street"), "autocomplete": "address-line2"},
    {"name": "locality", "label": N_("Town or city"), "autocomplete": "address-level2"},
    {"name": "postal_code", "label": N_("Postcode"), "autocomplete": "postal-code", "classes": "govuk-input--width-10"},
    {"name": "valid_from", "label": N_("Year you moved in"), "hint": N_("For example, 2015"), "inputmode": "numeric",
     "classes": "govuk-input--width-4"},
]  # fmt: skip


def _address_form(values: dict[str, str], errors: Errors | None = None) -> dict[str, Any]:
    fields = [{**f, "value": values.get(f["name"])} for f in ADDRESS_FIELDS]
    return {"heading": N_("Enter your current address"), "fields": fields, "errors": errors or []}


@router.get(ADDRESS)
async def address_page(request: Request, op: Op) -> Response:
    """The current address, for the fraud check and the questions."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if journey.state.person is None:
        return await journey.next(PROVE)
    return await journey.show(FORM, _address_form({}))


@router.post(ADDRESS)
async def check_address(request: Request, op: Op, _: CsrfProtected) -> Response:
    """Run the fraud check and ask the knowledge-based questions."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    state = journey.state
    if state.person is None:
        return await journey.next(PROVE)
    values = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str) and k != "csrf_token"}
    errors = []
    if not values.get("building"):
        errors.append(field_error("building", N_("Enter the building number or name")))
    if not 2 <= len(values.get("postal_code", "").replace(" ", "")) <= 8:
        errors.append(field_error("postal_code", N_("Enter a real postcode")))
    year = values.get("valid_from", "")
    if not (year.isdigit() and 1900 <= int(year) <= date.today().year):
        errors.append(field_error("valid_from", N_("Enter the year you moved in, for example 2015")))
    if errors:
        return await journey.show(FORM, _address_form(values, errors), 400)
    state.addresses = [{"postal_code": values["postal_code"].upper(), "building": values["building"],
                        "street": values.get("street", ""), "locality": values.get("locality", ""),
                        "valid_from": int(year)}]  # fmt: skip
    sources = op.sources
    try:
        fraud = await sources.fraud.check(state.claimant(), state.places())
        questions = await sources.kbv.start(state.claimant(), state.places())
    except SourceUnavailable:
        return await journey.source_down(FORM, {**_address_form(values), "focus": "building"})
    state.records = [r for r in state.records if r.get("identityFraudScore") is None]
    state.add(fraud)
    if fraud.ci:
        return await journey.finish()
    if not questions.questions:
        state.add(await sources.kbv.answer(questions.session_id, {}))
        return await journey.finish()
    if await kbv_attempts.used_today(op, str(journey.session.user_id)):  # one a day, any journey (§10.4): `D`
        return await journey.finish()
    state.kbv = {"session_id": questions.session_id, "questions": [
        {"name": q.id, "legend": q.text, "options": [{"value": o, "text": o} for o in q.options]}
        for q in questions.questions]}  # fmt: skip
    return await journey.next(QUESTIONS)


def _questions(kbv: dict[str, Any], errors: Errors | None = None) -> dict[str, Any]:
    return {
        "heading": N_("Answer security questions"),
        "paragraphs": [N_("We use these questions to check it is really you. You can answer them once a day.")],
        "questions": kbv["questions"],
        "errors": errors or [],
    }


@router.get(QUESTIONS)
async def questions_page(request: Request, op: Op) -> Response:
    """The knowledge-based questions (one attempt a day)."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    if journey.state.kbv is None:
        return await journey.next(PROVE)
    return await journey.show(CHOICE, _questions(journey.state.kbv))


@router.post(QUESTIONS)
async def answer_questions(request: Request, op: Op, _: CsrfProtected) -> Response:
    """Score the answers, evaluate the evidence and end the journey."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    kbv = journey.state.kbv
    if kbv is None:
        return await journey.next(PROVE)
    form = await request.form()
    answers = {q["name"]: form.get(q["name"]) for q in kbv["questions"]}
    missing = [name for name, value in answers.items() if not isinstance(value, str) or not value]
    if missing:
        return await journey.show(CHOICE, _questions(kbv, [field_error(missing[0], N_("Answer every question"))]), 400)
    user_id = str(journey.session.user_id)
    if not await kbv_attempts.take(op, user_id):  # answered already today, here or in another journey
        journey.state.kbv = None
        return await journey.finish()
    try:
        record = await op.sources.kbv.answer(kbv["session_id"], {k: str(v) for k, v in answers.items()})
    except SourceUnavailable:
        await kbv_attempts.give_back(op, user_id)
        return await journey.source_down(CHOICE, {**_questions(kbv), "focus": kbv["questions"][0]["name"]})
    journey.state.kbv = None
    journey.state.add(record)
    return await journey.finish()


STOPPING = {
    "heading": N_("Stop proving your identity"),
    "paragraphs": [N_("You will go back to the service without proving your identity.")],
    "button": N_("Return to the service"),
    "links": [],
}


@router.get(STOP)
async def stop_page(request: Request, op: Op) -> Response:
    """Confirm stopping (a form, so leaving is a deliberate POST with CSRF)."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    return await journey.show(FORM, {**STOPPING, "back_url": PROVE})


@router.post(STOP)
async def stop(request: Request, op: Op, _: CsrfProtected) -> Response:
    """Back to the relying party: `temporarily_unavailable` after an outage, else the journey's failure."""
    journey = await _journey(op, request)
    if isinstance(journey, Response):
        return journey
    return await journey.finish(unavailable=journey.state.unavailable > 0)

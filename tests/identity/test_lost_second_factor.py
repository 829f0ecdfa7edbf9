"""A lost second factor (spec §9.6): after the password, an emailed code lets the account's owner set up a new
second factor; the old one stops working, the session reaches `Cl.Cm`, the owner gets the account notice. An account
with a proven identity keeps it only by passing a fresh knowledge-based check about the person in the stored record
(the sandbox's questions, spec §10.5), or gives it up: it cannot be taken over with a password and an inbox alone.
One KBV attempt a day, shared with the proving journey."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.identity.accounts import repository as users
from services.identity.accounts import totp
from services.identity.events import SecurityEvent
from services.identity.proving import credential
from services.identity.proving.journey import Proving, identity_details
from services.identity.proving.models import IdentityRecord
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_accounts import SECRET
from tests.identity.test_code_flow import exchange
from tests.identity.test_password_reset import code_in, emails_when
from tests.identity.test_proving_journeys import SANDBOX, prove, proving_rp, tokens_and_userinfo

#: Page journeys: run once, on the production database (the account rules are the same on SQLite).
pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)

RECOVER = "/identity/recover"
PROVEN, QUESTIONS = RECOVER + "/proven-identity", RECOVER + "/security-questions"
NOTICE = "You have changed how you get GaaP security codes"
KEEP_IT = "Answer security questions to keep my proven identity"
USED_TODAY = "You have already answered security questions in the last 24 hours"


def to_security_code_page(browser: Browser, person: Person) -> None:
    browser.submit("/identity/sign-in", email=person.email)
    signed_in = browser.submit("/identity/sign-in/password", password=person.password)
    assert signed_in.headers["location"] == "/identity/sign-in/security-code", signed_in.text[:300]
    assert f'href="{RECOVER}"' in browser.get("/identity/sign-in/security-code").text


def prove_the_inbox(rig: IdentityRig, browser: Browser, person: Person) -> httpx.Response:
    before = len(rig.emails_to(person.email))
    sent = browser.submit(RECOVER)
    assert sent.headers["location"] == RECOVER + "/check-email", sent.text[:300]
    wrong = browser.submit(RECOVER + "/check-email", code="000000")
    assert wrong.status_code == 400 and "The code you entered is not correct or has expired" in wrong.text
    code = code_in(emails_when(rig, person.email, before + 1)[0])
    return browser.submit(RECOVER + "/check-email", code=code)


def set_up_an_app(browser: Browser) -> tuple[str, httpx.Response]:
    chosen = browser.submit(RECOVER + "/second-factor", factor="app")
    assert chosen.headers["location"] == RECOVER + "/authenticator-app", chosen.text[:300]
    found = SECRET.search(browser.get(RECOVER + "/authenticator-app").text)
    assert found
    secret = found.group(1).replace(" ", "")
    return secret, browser.submit(RECOVER + "/authenticator-app", code=totp.code_at(secret, int(time.time()) // 30))


def test_a_new_app_replaces_the_lost_one_and_the_sign_in_goes_on_at_cl_cm(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    browser.authorize(rp)
    to_security_code_page(browser, person)
    checked = prove_the_inbox(identity_rig, browser, person)
    assert checked.headers["location"] == RECOVER + "/second-factor"  # no proven identity to settle
    secret, done = set_up_an_app(browser)
    assert done.status_code == 303 and done.headers["location"] == "/identity/continue"
    answer = browser.follow(browser.get(done.headers["location"]))
    assert answer.status_code == 302 and answer.headers["location"].startswith(rp.redirect_uri)
    tokens = exchange(identity_rig, rp, code_from(answer.headers["location"])["code"]).json()
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    assert rp.verify_id_token(tokens["id_token"], jwks)["vot"] == "Cl.Cm"
    assert emails_when(identity_rig, person.email, 2)[0]["subject"] == NOTICE

    with identity_rig.browser() as other:  # the lost app's codes are refused, the new app's accepted
        other.submit("/identity/sign-in", email=person.email)
        other.submit("/identity/sign-in/password", password=person.password)
        assert other.submit("/identity/sign-in/security-code", code=person.next_code()).status_code == 400
        later = totp.code_at(secret, int(time.time()) // 30 + 1)
        assert other.submit("/identity/sign-in/security-code", code=later).status_code == 303


def test_the_journey_needs_the_password_first_and_a_proven_code(identity_rig: IdentityRig, browser: Browser) -> None:
    assert browser.get(RECOVER).headers["location"] == "/identity/sign-in"
    assert browser.get(RECOVER + "/check-email").headers["location"] == "/identity/sign-in"
    assert browser.get(RECOVER + "/second-factor").headers["location"] == RECOVER
    posted = browser.submit("/identity/sign-in", action=RECOVER + "/second-factor", factor="app")
    assert posted.headers["location"] == RECOVER


def test_a_proven_identity_is_deleted_with_the_new_factor(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp, vtr='["Cl.Cm.P2"]')
    browser.sign_in(person)
    finished = prove(browser, SANDBOX["S1"])
    assert finished.status_code == 302, finished.text[:300]
    tokens_and_userinfo(identity_rig, rp, finished.headers["location"])

    with identity_rig.browser() as lost:
        lost.authorize(rp, vtr='["Cl.Cm.P2"]')
        to_security_code_page(lost, person)
        checked = prove_the_inbox(identity_rig, lost, person)
        assert checked.headers["location"] == RECOVER + "/proven-identity"
        warned = lost.get(RECOVER + "/proven-identity")
        assert "You have proved your identity" in warned.text
        # The questions were answered while proving it, minutes ago: one attempt a day, whichever journey asks.
        assert USED_TODAY in warned.text and KEEP_IT not in warned.text
        assert lost.get(RECOVER + "/second-factor").headers["location"] == RECOVER  # not before agreeing
        assert lost.submit(PROVEN, identity="questions").status_code == 400
        agreed = lost.submit(RECOVER + "/proven-identity")
        assert agreed.headers["location"] == RECOVER + "/second-factor"
        _secret, done = set_up_an_app(lost)
        assert done.headers["location"] == "/identity/continue"
        again = lost.get(done.headers["location"])  # P2 is asked for again: the identity is gone, and with
        # the day's questions answered already, proving says so before asking for anything.
        assert again.status_code in (200, 303) and "You cannot prove your identity today" in lost.follow(again).text


def give_identity(rig: IdentityRig, person: Person, ref: str, vot: int, profile: str) -> None:
    """Store a proven identity for a sandbox person (spec §10.5) as the proving journey stores it, without using the
    day's KBV attempt on the proving pages."""
    identity = SANDBOX[ref]
    state = Proving(
        vot,
        person={"given": identity["given_names"].split(), "family": identity["family_name"],
                "birth": identity["birth_date"]},
        addresses=[{"postal_code": identity["postal_code"], "building": "1", "street": "Sandbox Street",
                    "locality": "Testtown", "valid_from": int(identity["valid_from"])}],
    )  # fmt: skip

    async def store() -> None:
        db = rig.db()
        try:
            async with db.write_session() as session:
                user = await users.by_email(session, person.email)
                assert user is not None
                await credential.store(session, str(user.id), vot, profile, identity_details(state, sandbox=True))
        finally:
            await db.dispose()

    asyncio.run(store())


def held(rig: IdentityRig, person: Person) -> tuple[tuple[int, str] | None, list[tuple[str, dict[str, Any]]]]:
    """The account's stored identity (level, profile), and its security events, oldest first."""

    async def read() -> tuple[tuple[int, str] | None, list[tuple[str, dict[str, Any]]]]:
        db = rig.db()
        try:
            async with db.write_session() as session:
                user = await users.by_email(session, person.email)
                assert user is not None
                proven = await session.get(IdentityRecord, user.id)
                rows = await session.execute(
                    select(SecurityEvent).where(SecurityEvent.user_id == user.id).order_by(SecurityEvent.created_at)
                )
                events = [(e.type, e.detail) for e in rows.scalars()]
                return ((proven.vot, proven.profile) if proven else None), events
        finally:
            await db.dispose()

    return asyncio.run(read())


def to_the_identity_choice(rig: IdentityRig, browser: Browser, rp: RelyingParty, person: Person) -> httpx.Response:
    browser.authorize(rp)
    to_security_code_page(browser, person)
    checked = prove_the_inbox(rig, browser, person)
    assert checked.headers["location"] == PROVEN, checked.text[:300]
    return browser.get(PROVEN)


def test_a_passed_check_keeps_the_proven_identity_and_the_new_factor_replaces_the_lost_one(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    give_identity(identity_rig, person, "S1", 2, "M1A")
    choice = to_the_identity_choice(identity_rig, browser, rp, person)
    assert KEEP_IT in choice.text and "Delete my proven identity" in choice.text
    assert browser.submit(PROVEN).status_code == 400  # a choice is needed
    assert browser.submit(PROVEN, identity="questions").headers["location"] == QUESTIONS
    asked = browser.get(QUESTIONS)
    assert "Which bank or building society do you have an account with?" in asked.text
    assert browser.get(RECOVER + "/second-factor").headers["location"] == RECOVER  # not settled yet
    partly = browser.submit(QUESTIONS, **{"KBV-BANK": "Sandbox Bank", "KBV-MOVE-YEAR": "2015"})
    assert partly.status_code == 400 and "Answer every question" in partly.text  # costs nothing
    passed = browser.submit(QUESTIONS, **{"KBV-BANK": "Sandbox Bank", "KBV-MOVE-YEAR": "2015",
                                          "KBV-LOAN": "£100 to £199"})  # fmt: skip
    assert passed.headers["location"] == RECOVER + "/second-factor", passed.text[:300]
    assert browser.get(PROVEN).headers["location"] == RECOVER + "/second-factor"  # settled: nothing to choose
    _secret, done = set_up_an_app(browser)
    assert done.headers["location"] == "/identity/continue"
    assert browser.follow(browser.get(done.headers["location"])).headers["location"].startswith(rp.redirect_uri)
    proven, events = held(identity_rig, person)
    assert proven == (2, "M1A")  # kept, at its level
    kinds = [kind for kind, _ in events]
    order = [kinds.index(k) for k in ("recovery_identity_choice", "recovery_kbv_passed", "second_factor_replaced")]
    assert order == sorted(order) and "identity_deleted" not in kinds
    assert events[kinds.index("recovery_kbv_passed")][1]["verification"] == 2
    replaced = events[kinds.index("second_factor_replaced")][1]
    assert replaced["identity_kept_by_kbv"] is True and replaced["identity_deleted"] is False
    assert emails_when(identity_rig, person.email, 2)[0]["subject"] == NOTICE


def test_a_failed_check_leaves_only_deletion_and_no_second_attempt_that_day(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    give_identity(identity_rig, person, "S1", 2, "M1A")
    to_the_identity_choice(identity_rig, browser, rp, person)
    browser.submit(PROVEN, identity="questions")
    # 2 of 3 right is verification 1: enough for P1, not for the M1A profile this identity was proven to.
    failed = browser.submit(QUESTIONS, **{"KBV-BANK": "Sandbox Bank", "KBV-MOVE-YEAR": "2015",
                                          "KBV-LOAN": "Up to £99"})  # fmt: skip
    assert failed.headers["location"] == PROVEN
    only_delete = browser.get(PROVEN).text
    assert "did not match our records" in only_delete and KEEP_IT not in only_delete
    assert browser.get(QUESTIONS).headers["location"] == PROVEN  # the questions are gone
    assert browser.submit(PROVEN, identity="questions").status_code == 400
    assert browser.get(RECOVER + "/second-factor").headers["location"] == RECOVER

    with identity_rig.browser() as again:  # stopped, and started over: the day's attempt is spent
        page = to_the_identity_choice(identity_rig, again, rp, person)
        assert USED_TODAY in page.text and KEEP_IT not in page.text
        assert again.submit(PROVEN).headers["location"] == RECOVER + "/second-factor"  # agree to the deletion
        _secret, done = set_up_an_app(again)
        assert done.headers["location"] == "/identity/continue"
        proving = proving_rp(identity_rig)  # nor can the proving journey ask the questions again today
        told = again.authorize(proving, vtr='["Cl.Cm.P2"]')
        assert "You cannot prove your identity today" in told.text and USED_TODAY in told.text
        ended = again.submit("/identity/prove")
        assert ended.status_code == 302 and code_from(ended.headers["location"])["error"] == "access_denied"
    proven, events = held(identity_rig, person)
    assert proven is None
    failure = next(detail for kind, detail in events if kind == "recovery_kbv_failed")
    assert (failure["verification"], failure["required"], failure["ci"]) == (1, 2, [])
    assert ("identity_deleted", {"reason": "second_factor_replaced"}) in events
    replaced = next(detail for kind, detail in events if kind == "second_factor_replaced")
    assert replaced["identity_deleted"] is True and replaced["identity_kept_by_kbv"] is False


def test_no_questions_or_no_source_the_user_is_told_and_may_delete_or_come_back(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    give_identity(identity_rig, person, "S7", 2, "M1A")  # the sandbox's outage
    to_the_identity_choice(identity_rig, browser, rp, person)
    for _try in range(2):  # an outage costs no attempt: the choice stays, and may be tried again
        down = browser.submit(PROVEN, identity="questions")
        assert down.status_code == 503 and "We could not ask you security questions at the moment" in down.text
        assert KEEP_IT in down.text
    _proven, events = held(identity_rig, person)
    assert [d["reason"] for k, d in events if k == "recovery_kbv_unavailable"] == ["source_unavailable"] * 2

    thin = identity_rig.person()  # the sandbox's S6 has no questions to answer
    give_identity(identity_rig, thin, "S6", 1, "L1A")
    with identity_rig.browser() as other:
        to_the_identity_choice(identity_rig, other, rp, thin)
        assert other.submit(PROVEN, identity="questions").headers["location"] == PROVEN
        told = other.get(PROVEN).text
        assert "We could not find any security questions to ask you" in told and KEEP_IT not in told
        assert other.submit(PROVEN).headers["location"] == RECOVER + "/second-factor"
    proven, events = held(identity_rig, thin)
    assert proven == (1, "L1A")  # nothing deleted before a new factor is proven
    assert ("recovery_kbv_unavailable", {"reason": "no_questions"}) in events

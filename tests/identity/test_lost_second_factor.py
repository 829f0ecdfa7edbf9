"""A lost second factor (spec §9.6): after the password, an emailed code lets the account's owner set up a new
second factor; the old one stops working, the session reaches `Cl.Cm`, the owner gets the account notice, and an
account with a proven identity gives it up (it cannot be taken over with a password and an inbox alone)."""

from __future__ import annotations

import time

import httpx
import pytest

from services.identity.accounts import totp
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_accounts import SECRET
from tests.identity.test_code_flow import exchange
from tests.identity.test_password_reset import code_in, emails_when
from tests.identity.test_proving_journeys import SANDBOX, prove, proving_rp, tokens_and_userinfo

#: Page journeys: run once, on the production database (the account rules are the same on SQLite).
pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)

RECOVER = "/identity/recover"
NOTICE = "You have changed how you get GaaP security codes"


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
        assert lost.get(RECOVER + "/second-factor").headers["location"] == RECOVER  # not before agreeing
        agreed = lost.submit(RECOVER + "/proven-identity")
        assert agreed.headers["location"] == RECOVER + "/second-factor"
        _secret, done = set_up_an_app(lost)
        assert done.headers["location"] == "/identity/continue"
        again = lost.get(done.headers["location"])  # P2 is asked for again: the identity is gone
        assert again.status_code in (200, 303) and "Prove your identity" in lost.follow(again).text

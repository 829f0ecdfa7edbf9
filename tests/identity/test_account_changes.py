"""Changes from the account page (spec §9.6), only in a `Cl.Cm` session: the email address (the new one proven with a
code sent to it, the notice sent to the old one, an address with an account refused only after its code), the
password (the current one checked, §9.3's rules, other sessions ended), the second factor (the new one proven
before it replaces the old), the proven identity (shown, and deleted on request, spec §10.6), and the account itself
(deleted with the password again, every service it was used for sent a back-channel logout)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from services.identity.accounts import totp
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person
from tests.identity.test_accounts import SECRET
from tests.identity.test_code_flow import exchange, signed_in_code
from tests.identity.test_logout import deliver, outbox, rp_backchannel  # noqa: F401  (fixture)
from tests.identity.test_password_reset import emails_when
from tests.identity.test_proving_journeys import SANDBOX, prove, proving_rp

#: Page journeys: run once, on the production database (the account rules are the same on SQLite).
pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)

ACCOUNT = "/identity/account"
CHANGE = ACCOUNT + "/change-email"
NEW_PASSWORD = "an account-page passphrase 6"


def signed_in(browser: Browser, person: Person) -> None:
    browser.get(ACCOUNT)
    browser.sign_in(person)
    assert "Your account" in browser.get(ACCOUNT).text


def test_a_new_address_proven_with_a_code_replaces_the_old_one(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    signed_in(browser, person)
    assert f'href="{CHANGE}"' in browser.get(ACCOUNT).text
    new = f"moved-{uuid.uuid4().hex[:10]}@example.com"
    same = browser.submit(CHANGE, email=person.email)
    assert same.status_code == 400 and "this is the one your account already uses" in same.text
    sent = browser.submit(CHANGE, email=new)
    assert sent.headers["location"] == CHANGE + "/check-email"
    wrong = browser.submit(CHANGE + "/check-email", code="000000")
    assert wrong.status_code == 400 and "The code you entered is not correct or has expired" in wrong.text
    changed = browser.submit(CHANGE + "/check-email", code=identity_rig.emailed_code(new))
    assert changed.headers["location"] == ACCOUNT
    account = browser.get(ACCOUNT)
    assert "Your email address has been changed." in account.text and new in account.text
    assert "Your email address has been changed." not in browser.get(ACCOUNT).text  # said once
    notice = emails_when(identity_rig, person.email, 1)[0]  # to the old address
    assert notice["subject"] == "The email address of your GaaP account has been changed"

    with identity_rig.browser() as other:  # the new address signs in; the old one is no account any more
        other.submit("/identity/sign-in", email=person.email)
        assert other.submit("/identity/sign-in/password", password=person.password).status_code == 400
        person.email = new
        assert other.sign_in(person).status_code in (200, 303)
        assert new in other.get(ACCOUNT).text


def test_an_address_with_an_account_is_refused_after_its_code(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    other = identity_rig.person()
    signed_in(browser, person)
    browser.submit(CHANGE, email=other.email)
    refused = browser.submit(CHANGE + "/check-email", code=identity_rig.emailed_code(other.email))
    assert refused.status_code == 400 and "There is already an account with this email address" in refused.text
    assert person.email in browser.get(ACCOUNT).text


def test_only_a_session_with_the_second_factor_may_change_anything(identity_rig: IdentityRig, person: Person) -> None:
    pages = [CHANGE, ACCOUNT + "/change-password", ACCOUNT + "/change-second-factor"]
    with identity_rig.browser() as anonymous:
        assert {anonymous.get(p).headers["location"] for p in pages} == {"/identity/sign-in"}
    with identity_rig.browser() as password_only:
        password_only.submit("/identity/sign-in", email=person.email)
        password_only.submit("/identity/sign-in/password", password=person.password)
        assert {password_only.get(p).headers["location"] for p in pages} == {"/identity/sign-in/security-code"}
        posted = password_only.submit("/identity/sign-in", action=CHANGE, email="x@example.com")
        assert posted.headers["location"] == "/identity/sign-in/security-code"
        posted = password_only.submit(
            "/identity/sign-in", action=ACCOUNT + "/change-password", current=person.password, password="x" * 12
        )
        assert posted.headers["location"] == "/identity/sign-in/security-code"


def test_the_password_is_changed_with_the_current_one_and_other_sessions_end(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    with identity_rig.browser() as elsewhere:
        signed_in(elsewhere, person)
        signed_in(browser, person)
        page = ACCOUNT + "/change-password"
        wrong = browser.submit(page, current="not my password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert wrong.status_code == 400 and "not your current password" in wrong.text
        leaked = browser.submit(page, current=person.password, password="password1", confirm="password1")
        assert leaked.status_code == 400 and "lists of leaked passwords" in leaked.text
        done = browser.submit(page, current=person.password, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert done.headers["location"] == ACCOUNT
        assert "Your password has been changed." in browser.get(ACCOUNT).text
        assert elsewhere.get(ACCOUNT).headers["location"] == "/identity/sign-in"  # the other session ended
    assert emails_when(identity_rig, person.email, 1)[0]["subject"] == "Your GaaP password has been changed"
    with identity_rig.browser() as again:  # the new password signs in (the old one is refused)
        again.submit("/identity/sign-in", email=person.email)
        assert again.submit("/identity/sign-in/password", password=person.password).status_code == 400
        signed = again.submit("/identity/sign-in/password", password=NEW_PASSWORD)
        assert signed.headers["location"] == "/identity/sign-in/security-code"


def test_a_new_authenticator_app_replaces_the_old_one_once_proven(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    signed_in(browser, person)
    assert browser.get(ACCOUNT + "/second-factor").headers["location"] == ACCOUNT  # only from the account page
    started = browser.get(ACCOUNT + "/change-second-factor")
    assert started.headers["location"] == ACCOUNT + "/second-factor"
    chosen = browser.submit(ACCOUNT + "/second-factor", factor="app")
    assert chosen.headers["location"] == ACCOUNT + "/authenticator-app"
    found = SECRET.search(browser.get(ACCOUNT + "/authenticator-app").text)
    assert found
    secret = found.group(1).replace(" ", "")
    wrong = browser.submit(ACCOUNT + "/authenticator-app", code="000000")
    assert wrong.status_code == 400
    done = browser.submit(ACCOUNT + "/authenticator-app", code=totp.code_at(secret, int(time.time()) // 30))
    assert done.headers["location"] == ACCOUNT
    assert "You have changed how you get security codes." in browser.get(ACCOUNT).text
    assert (
        emails_when(identity_rig, person.email, 1)[0]["subject"] == "You have changed how you get GaaP security codes"
    )
    with identity_rig.browser() as other:  # the old app's codes are refused now
        other.submit("/identity/sign-in", email=person.email)
        other.submit("/identity/sign-in/password", password=person.password)
        assert other.submit("/identity/sign-in/security-code", code=person.next_code()).status_code == 400
        later = totp.code_at(secret, int(time.time()) // 30 + 1)
        assert other.submit("/identity/sign-in/security-code", code=later).status_code == 303


def prove_s1(identity_rig: IdentityRig, person: Person) -> None:
    """Give `person` a proven identity (the sandbox's S1, at P2) through the proving pages."""
    with identity_rig.browser() as proving:
        rp = proving_rp(identity_rig)
        proving.authorize(rp, vtr='["Cl.Cm.P2"]')
        proving.sign_in(person)
        finished = prove(proving, SANDBOX["S1"])
        assert finished.status_code == 302, finished.text[:300]


def test_the_proven_identity_is_shown_and_can_be_deleted(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    signed_in(browser, person)
    assert "Proven identity" not in browser.get(ACCOUNT).text
    assert browser.get(ACCOUNT + "/proven-identity").headers["location"] == ACCOUNT
    prove_s1(identity_rig, person)
    account = browser.get(ACCOUNT).text
    assert "Proven identity" in account and f'href="{ACCOUNT}/proven-identity"' in account
    shown = browser.get(ACCOUNT + "/proven-identity")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    for expected in ("Medium confidence (P2)", "Ada Testwell", "These checks were simulated", "Delete your proven"):
        assert expected in shown.text
    deleted = browser.submit(ACCOUNT + "/proven-identity")
    assert deleted.headers["location"] == ACCOUNT
    account = browser.get(ACCOUNT).text
    assert "Your proven identity has been deleted." in account and "Checked on" not in account
    rp = proving_rp(identity_rig)  # a service asking for P2 now needs the proof again (tomorrow: one KBV a day)
    browser.authorize(rp, vtr='["Cl.Cm.P2"]')
    assert "You cannot prove your identity today" in browser.follow(browser.get("/identity/continue")).text


def test_deleting_the_account_logs_out_every_service_it_was_used_for(
    identity_rig: IdentityRig,
    person: Person,
    browser: Browser,
    rp_backchannel: tuple[str, dict[str, Any]],  # noqa: F811
) -> None:
    url, state = rp_backchannel
    used, unused = identity_rig.rp(BackChannelLogoutUri=url), identity_rig.rp(BackChannelLogoutUri=url)
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    with identity_rig.browser() as elsewhere:  # a sign-in to `used` yesterday, say, in another browser
        tokens = exchange(identity_rig, used, signed_in_code(elsewhere, used, person)["code"]).json()
        sub = used.verify_id_token(tokens["id_token"], jwks)["sub"]
        signed_in(browser, person)
        assert 'href="/identity/account/delete"' in browser.get(ACCOUNT).text
        wrong = browser.submit(ACCOUNT + "/delete", password="not my password")
        assert wrong.status_code == 400 and "not your current password" in wrong.text
        done = browser.submit(ACCOUNT + "/delete", password=person.password)
        assert done.headers["location"] == "/identity/account-deleted"
        assert "Your account has been deleted" in browser.get(done.headers["location"]).text
        assert browser.get(ACCOUNT).headers["location"] == "/identity/sign-in"  # this session ended
        assert 'name="email"' in elsewhere.authorize(used).text  # and the other one
    assert outbox(identity_rig, unused.client_id) == []
    [row] = outbox(identity_rig, used.client_id)
    deliver(identity_rig, row[0])
    [token] = state["tokens"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == sub
    assert emails_when(identity_rig, person.email, 1)[0]["subject"] == "Your GaaP account has been deleted"
    with identity_rig.browser() as again:  # the address has no account any more
        again.submit("/identity/sign-in", email=person.email)
        assert again.submit("/identity/sign-in/password", password=person.password).status_code == 400

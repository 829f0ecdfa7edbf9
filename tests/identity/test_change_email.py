"""Changing the account's email address (spec §9.6): only from a `Cl.Cm` session, the new address proven with a
code sent to it, the notice sent to the old address, an address with an account refused only after its code."""

from __future__ import annotations

import uuid

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person
from tests.identity.test_password_reset import emails_when

ACCOUNT = "/identity/account"
CHANGE = ACCOUNT + "/change-email"


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


def test_only_a_session_with_the_second_factor_may_change_it(identity_rig: IdentityRig, person: Person) -> None:
    with identity_rig.browser() as anonymous:
        assert anonymous.get(CHANGE).headers["location"] == "/identity/sign-in"
    with identity_rig.browser() as password_only:
        password_only.submit("/identity/sign-in", email=person.email)
        password_only.submit("/identity/sign-in/password", password=person.password)
        assert password_only.get(CHANGE).headers["location"] == "/identity/sign-in/security-code"
        posted = password_only.submit("/identity/sign-in", action=CHANGE, email="x@example.com")
        assert posted.headers["location"] == "/identity/sign-in/security-code"

"""Creating an account with an emailed code sent through the real notify, password rules, TOTP enrolment,
lockouts, CSRF and account enumeration (spec §9)."""

from __future__ import annotations

import re
import time
import uuid

from services.identity.accounts import totp
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_code_flow import exchange

SECRET = re.compile(r"Secret key: <strong[^>]*>([A-Z2-7 ]+)</strong>")


def create_account(rig: IdentityRig, browser: Browser, email: str, password: str) -> tuple[str, str]:
    """Walk the sign-up pages; returns the TOTP secret shown and the last answer's location."""
    sent = browser.submit("/identity/create", email=email)
    assert sent.headers.get("location") == "/identity/create/check-email", sent.text[:500]
    checked = browser.submit("/identity/create/check-email", code=rig.emailed_code(email))
    assert checked.headers.get("location") == "/identity/create/password", checked.text[:500]
    chosen = browser.submit("/identity/create/password", password=password, confirm=password)
    assert chosen.headers.get("location") == "/identity/create/second-factor", chosen.text[:500]
    app = browser.submit("/identity/create/second-factor", factor="app")
    assert app.headers.get("location") == "/identity/create/authenticator-app", app.text[:500]
    page = browser.get("/identity/create/authenticator-app")
    assert "<svg" in page.text  # the QR code, inline
    found = SECRET.search(page.text)
    assert found, page.text
    secret = found.group(1).replace(" ", "")
    done = browser.submit(
        "/identity/create/authenticator-app", code=totp.code_at(secret, int(__import__("time").time()) // 30)
    )
    return secret, done.headers.get("location", "")


def test_create_an_account_and_continue_to_the_service(
    identity_rig: IdentityRig, rp: RelyingParty, browser: Browser
) -> None:
    browser.authorize(rp)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    secret, location = create_account(identity_rig, browser, email, "a brand new passphrase 9")
    assert location == "/identity/continue"
    answer = browser.follow(browser.get(location))
    assert answer.status_code == 302
    tokens = exchange(identity_rig, rp, code_from(answer.headers["location"])["code"])
    assert tokens.status_code == 200
    # The new account signs in again later with its password and app.
    other = identity_rig.browser()
    try:
        other.authorize(rp)
        person = Person(email, "a brand new passphrase 9", secret, int(time.time()) // 30)
        assert other.sign_in(person).headers["location"].startswith(rp.redirect_uri)
    finally:
        other.close()


def test_password_rules_on_the_page(identity_rig: IdentityRig, browser: Browser) -> None:
    email = f"rules-{uuid.uuid4().hex[:8]}@example.com"
    browser.submit("/identity/create", email=email)
    browser.submit("/identity/create/check-email", code=identity_rig.emailed_code(email))
    for password, message in [
        ("short", "at least 8 characters"),
        ("password1", "leaked passwords"),
        (email, "must not be your email address"),
    ]:
        answer = browser.submit("/identity/create/password", password=password, confirm=password)
        assert answer.status_code == 400
        assert message in answer.text
        assert "govuk-error-summary" in answer.text
    mismatch = browser.submit("/identity/create/password", password="one long passphrase", confirm="another one")
    assert "do not match" in mismatch.text


def test_a_wrong_email_code(identity_rig: IdentityRig, browser: Browser) -> None:
    email = f"code-{uuid.uuid4().hex[:8]}@example.com"
    browser.submit("/identity/create", email=email)
    wrong = browser.submit("/identity/create/check-email", code="000000")
    assert wrong.status_code == 400
    assert "not correct" in wrong.text


def test_an_existing_address_learns_it_only_after_the_code(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    browser.submit("/identity/create", email=person.email)
    answer = browser.submit("/identity/create/check-email", code=identity_rig.emailed_code(person.email))
    assert "You already have an account" in answer.text


def test_no_account_enumeration(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    browser.submit("/identity/sign-in", email=person.email)
    wrong_password = browser.submit("/identity/sign-in/password", password="not the password")
    browser.submit("/identity/sign-in", email=f"nobody-{uuid.uuid4().hex[:6]}@example.com")
    no_account = browser.submit("/identity/sign-in/password", password="not the password")
    assert wrong_password.status_code == no_account.status_code == 400
    assert _main(wrong_password.text) == _main(no_account.text)


def _main(html: str) -> str:
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r'name="csrf_token" value="[^"]+"', "", body)


def test_wrong_passwords_lock_the_account(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    browser.submit("/identity/sign-in", email=person.email)
    answers = [browser.submit("/identity/sign-in/password", password=f"wrong {i}") for i in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    locked = browser.submit("/identity/sign-in/password", password=person.password)
    assert locked.status_code == 429  # even the right password, for 15 minutes
    assert "too many times" in locked.text


def test_wrong_security_codes_lock_the_second_factor(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    browser.submit("/identity/sign-in", email=person.email)
    browser.submit("/identity/sign-in/password", password=person.password)
    answers = [browser.submit("/identity/sign-in/security-code", code="000000") for _ in range(6)]
    assert answers[-1].status_code == 429
    assert browser.submit("/identity/sign-in/security-code", code=person.next_code()).status_code == 429


def test_a_form_without_its_csrf_token_is_refused(identity_rig: IdentityRig, browser: Browser) -> None:
    browser.get("/identity/sign-in")
    answer = browser.client.post("/identity/sign-in", data={"email": "someone@example.com"})
    assert answer.status_code == 403
    assert "could not accept your form" in answer.text

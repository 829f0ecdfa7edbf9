"""A sign-in with a password on the breached list (spec §9.3): the password is right, so the sign-in goes on, but
only through choosing a new one; the session has no level until then, the new password follows the rules, the
owner gets the account notice, and the sign-in continues as it would have."""

from __future__ import annotations

import httpx
import pytest

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, RelyingParty, code_from
from tests.identity.test_code_flow import exchange
from tests.identity.test_password_reset import emails_when

#: Page journeys: run once, on the production database (the account rules are the same on SQLite).
pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)

CHANGE = "/identity/sign-in/change-password"
LEAKED = "password1234"  # in the bundled list
CHOSEN = "a passphrase nobody has leaked 9"


def test_a_leaked_password_signs_in_only_through_choosing_a_new_one(
    identity_rig: IdentityRig, rp: RelyingParty, browser: Browser
) -> None:
    person = identity_rig.person(password=LEAKED)
    browser.authorize(rp, vtr='["Cl"]')
    browser.submit("/identity/sign-in", email=person.email)
    signed_in = browser.submit("/identity/sign-in/password", password=LEAKED)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == CHANGE
    page = browser.get(CHANGE)
    assert page.status_code == 200 and "You need to change your password" in page.text
    # No level yet: neither the account page nor the waiting request treats the browser as signed in.
    assert browser.get("/identity/account").headers["location"] == "/identity/sign-in"
    assert browser.get("/identity/continue").headers["location"] != rp.redirect_uri

    for password, confirm, message in [
        ("qwertyuiop", "qwertyuiop", "it appears in lists of leaked passwords"),
        (CHOSEN, CHOSEN + "!", "The passwords you entered do not match"),
    ]:
        refused = browser.submit(CHANGE, password=password, confirm=confirm)
        assert refused.status_code == 400 and "govuk-error-summary" in refused.text and message in refused.text
    assert browser.client.post(CHANGE, data={"password": CHOSEN, "confirm": CHOSEN}).status_code == 403  # no CSRF

    changed = browser.submit(CHANGE, password=CHOSEN, confirm=CHOSEN)
    assert changed.status_code == 303 and changed.headers["location"] == "/identity/continue"
    answer = browser.follow(browser.get(changed.headers["location"]))
    assert answer.status_code == 302 and answer.headers["location"].startswith(rp.redirect_uri)
    tokens = exchange(identity_rig, rp, code_from(answer.headers["location"])["code"]).json()
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    assert rp.verify_id_token(tokens["id_token"], jwks)["vot"] == "Cl"
    notice = emails_when(identity_rig, person.email, 1)[0]
    assert notice["subject"] == "Your GaaP password has been changed"
    assert "leaked passwords" in notice["body"]
    assert browser.get(CHANGE).headers["location"] == "/identity/sign-in"  # done: the page is gone

    with identity_rig.browser() as other:  # the leaked password is gone, the new one signs in as usual
        other.submit("/identity/sign-in", email=person.email)
        assert other.submit("/identity/sign-in/password", password=LEAKED).status_code == 400
        again = other.submit("/identity/sign-in/password", password=CHOSEN)
        assert again.headers["location"] == "/identity/sign-in/security-code"


def test_the_change_page_needs_a_sign_in_with_a_leaked_password(identity_rig: IdentityRig, browser: Browser) -> None:
    assert browser.get(CHANGE).headers["location"] == "/identity/sign-in"
    posted = browser.submit("/identity/sign-in", action=CHANGE, password=CHOSEN, confirm=CHOSEN)  # a valid token
    assert posted.status_code == 303 and posted.headers["location"] == "/identity/sign-in"

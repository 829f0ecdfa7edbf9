"""A forgotten password (spec §9.6, §9.3, §9.4): the emailed code through the real notify, the new password's rules,
the lockout cleared, the account notice, no account enumeration, the code limits, and the user's other sessions ended
with back-channel logout while the browser that reset goes on (and still needs the second factor for `Cl.Cm`)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import jwt

from services.identity.logout.models import SENT
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_accounts import _main
from tests.identity.test_code_flow import exchange, signed_in_code
from tests.identity.test_logout import deliver, outbox, rp_backchannel  # noqa: F401  (fixture)

RESET = "/identity/sign-in/forgotten-password"
NEW_PASSWORD = "a freshly reset passphrase 5"


def emails_when(rig: IdentityRig, email: str, count: int, within: float = 20) -> list[dict[str, Any]]:
    """The emails to `email`, newest first, once there are `count` (codes and notices are sent after the answer)."""
    deadline = time.monotonic() + within
    while len(emails := rig.emails_to(email)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(emails) >= count, emails
    return emails


def code_in(email: dict[str, Any]) -> str:
    found = re.search(r"\b(\d{6})\b", email["body"])
    assert found, email["body"]
    return found.group(1)


def ask_for_code(rig: IdentityRig, browser: Browser, email: str) -> str:
    """Ask for a reset code and return it, read back from notify."""
    before = len(rig.emails_to(email))
    sent = browser.submit(RESET, email=email)
    assert sent.headers.get("location") == RESET + "/check-email", sent.text[:500]
    return code_in(emails_when(rig, email, before + 1)[0])


def reset(rig: IdentityRig, browser: Browser, person: Person, password: str = NEW_PASSWORD) -> httpx.Response:
    """The whole reset; returns where the last page leads."""
    checked = browser.submit(RESET + "/check-email", code=ask_for_code(rig, browser, person.email))
    assert checked.headers.get("location") == RESET + "/new-password", checked.text[:500]
    done = browser.submit(RESET + "/new-password", password=password, confirm=password)
    assert done.status_code == 303, done.text[:500]
    person.password = password
    return done


def test_reset_from_the_password_page_unlocks_and_continues_at_cl(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    browser.authorize(rp, vtr='["Cl"]')
    browser.submit("/identity/sign-in", email=person.email)
    locked = [browser.submit("/identity/sign-in/password", password=f"wrong {i}") for i in range(5)]
    assert locked[-1].status_code == 429
    assert f'href="{RESET}"' in locked[-1].text  # the lockout offers the reset
    assert f'href="{RESET}"' in browser.get("/identity/sign-in/password").text
    form = browser.get(RESET)
    assert f'value="{person.email}"' in form.text  # the address being signed in
    done = reset(identity_rig, browser, person)
    assert done.headers["location"] == "/identity/continue"
    answer = browser.follow(browser.get(done.headers["location"]))
    assert answer.status_code == 302 and answer.headers["location"].startswith(rp.redirect_uri)
    tokens = exchange(identity_rig, rp, code_from(answer.headers["location"])["code"]).json()
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    assert rp.verify_id_token(tokens["id_token"], jwks)["vot"] == "Cl"
    notice = emails_when(identity_rig, person.email, 2)[0]
    assert notice["subject"] == "Your GaaP password has been changed"
    assert "has been signed out" in notice["body"]
    # The lockout is over, the old password is gone and the new one signs in.
    with identity_rig.browser() as other:
        other.submit("/identity/sign-in", email=person.email)
        assert (
            other.submit("/identity/sign-in/password", password="a long and unlisted passphrase 7").status_code == 400
        )
        signed_in = other.submit("/identity/sign-in/password", password=NEW_PASSWORD)
        assert signed_in.headers["location"] == "/identity/sign-in/security-code"
    # The journey is over: choosing another password needs a new code.
    assert browser.get(RESET + "/new-password").headers["location"] == RESET


def test_an_unknown_address_gets_the_same_pages_and_no_email(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    with identity_rig.browser() as other:
        unknown = other.follow(other.submit(RESET, email=nobody))
        unknown_wrong = other.submit(RESET + "/check-email", code="000000")
        not_yet = other.get(RESET + "/new-password")
        assert not_yet.headers["location"] == RESET
    known = browser.follow(browser.submit(RESET, email=person.email))
    code_in(emails_when(identity_rig, person.email, 1)[0])  # the account's code went out, after the unknown's turn
    known_wrong = browser.submit(RESET + "/check-email", code="000000")
    assert unknown.status_code == known.status_code == 200
    assert _main(unknown.text) == _main(known.text)
    assert unknown_wrong.status_code == known_wrong.status_code == 400
    assert _main(unknown_wrong.text) == _main(known_wrong.text)
    assert "The code you entered is not correct or has expired" in known_wrong.text
    assert identity_rig.emails_to(nobody) == []
    refused = browser.client.post(RESET, data={"email": person.email})  # no CSRF token
    assert refused.status_code == 403


def test_code_limits(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    code = ask_for_code(identity_rig, browser, person.email)
    wrong = [browser.submit(RESET + "/check-email", code="000000") for _ in range(6)]
    assert [answer.status_code for answer in wrong] == [400] * 5 + [429]
    assert "You entered the wrong security code too many times" in wrong[-1].text
    assert browser.submit(RESET + "/check-email", code=code).status_code == 429  # even the right code
    # Sends: 5 per address in 15 minutes, counted for an address with no account as for one with an account.
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    sends = [browser.submit(RESET, email=nobody) for _ in range(6)]
    assert [answer.status_code for answer in sends] == [303] * 5 + [429]
    assert "You asked for too many codes" in sends[-1].text


def test_the_new_password_follows_the_rules(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    browser.submit(RESET + "/check-email", code=ask_for_code(identity_rig, browser, person.email))
    for password, message in [
        ("short", "Your password must be at least 8 characters"),
        ("password1", "it appears in lists of leaked passwords"),
        (person.email.upper(), "Your password must not be your email address"),
    ]:
        answer = browser.submit(RESET + "/new-password", password=password, confirm=password)
        assert answer.status_code == 400
        assert "govuk-error-summary" in answer.text
        assert message in answer.text
    mismatch = browser.submit(RESET + "/new-password", password=NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert mismatch.status_code == 400
    assert "The passwords you entered do not match" in mismatch.text


def test_a_reset_ends_other_sessions_with_back_channel_logout_and_cl_cm_still_needs_the_second_factor(
    identity_rig: IdentityRig,
    person: Person,
    browser: Browser,
    rp_backchannel: tuple[str, dict[str, Any]],  # noqa: F811
) -> None:
    url, state = rp_backchannel
    rp = identity_rig.rp(BackChannelLogoutUri=url)
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    with identity_rig.browser() as elsewhere:
        tokens = exchange(identity_rig, rp, signed_in_code(elsewhere, rp, person)["code"]).json()
        sub = rp.verify_id_token(tokens["id_token"], jwks)["sub"]
        browser.authorize(rp)  # a Cl.Cm request waits while this browser resets the password
        done = reset(identity_rig, browser, person)
        at_code = browser.follow(browser.get(done.headers["location"]))
        assert at_code.status_code == 200
        assert str(at_code.url).endswith("/identity/sign-in/security-code")
        answer = browser.follow(browser.submit("/identity/sign-in/security-code", code=person.next_code()))
        code = code_from(answer.headers["location"])["code"]
        claims = rp.verify_id_token(exchange(identity_rig, rp, code).json()["id_token"], jwks)
        assert claims["vot"] == "Cl.Cm"
        # The other browser's session has ended: its next request needs a sign-in.
        again = elsewhere.authorize(rp)
        assert again.status_code == 200
        assert 'name="email"' in again.text
    rows = outbox(identity_rig, rp.client_id)
    assert len(rows) == 1
    deliver(identity_rig, rows[0][0])
    assert outbox(identity_rig, rp.client_id)[0][2] == SENT
    token = state["tokens"][0]
    key = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])
    logout = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=rp.client_id, issuer=identity_rig.issuer
    )
    assert logout["sub"] == sub
    assert logout["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    # The browser that reset is still signed in.
    assert browser.get("/identity/account").status_code == 200

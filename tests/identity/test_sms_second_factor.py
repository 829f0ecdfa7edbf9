"""Text messages as the second factor (spec §9.1, §9.2, §9.4, §7): a mobile number chosen at sign-up, normalised
to E.164 in the allowed countries and proven with a code texted through the real notify (its worker hands the text
to the fake SMS provider, where the test reads it); sign-in at `Cl.Cm` with a texted code; "send the code again";
the limits on sends and wrong codes; the `phone` scope's claims."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, Phone, RelyingParty, code_from
from tests.identity.test_code_flow import exchange

PASSWORD = "a texted-code passphrase 31"


def userinfo(rig: IdentityRig, rp: RelyingParty, location: str) -> dict[str, Any]:
    tokens = exchange(rig, rp, code_from(location)["code"])
    assert tokens.status_code == 200, tokens.text
    answer = httpx.get(
        rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert answer.status_code == 200, answer.text
    info: dict[str, Any] = answer.json()
    return info


def sign_up_to_the_phone_page(rig: IdentityRig, browser: Browser, email: str) -> None:
    browser.submit("/identity/create", email=email)
    browser.submit("/identity/create/check-email", code=rig.emailed_code(email))
    browser.submit("/identity/create/password", password=PASSWORD, confirm=PASSWORD)
    chosen = browser.submit("/identity/create/second-factor", factor="sms")
    assert chosen.headers.get("location") == "/identity/create/phone", chosen.text[:500]


def test_sign_up_with_a_phone_then_sign_in_at_cl_cm_with_a_texted_code(
    identity_rig: IdentityRig, rp: RelyingParty, browser: Browser, phone: Phone
) -> None:
    browser.authorize(rp, scope="openid email phone")
    email = f"sms-{uuid.uuid4().hex[:8]}@example.com"
    sign_up_to_the_phone_page(identity_rig, browser, email)
    for typed, message in [
        ("not a number", "Enter a mobile phone number in the correct format"),
        ("020 7946 0000", "Enter a UK mobile phone number"),  # a London landline
        ("+1 202 555 0100", "We cannot send text messages to phone numbers in that country"),
    ]:
        refused = browser.submit("/identity/create/phone", phone_number=typed)
        assert refused.status_code == 400 and message in refused.text, (typed, refused.text[:300])
    international = "+44 " + phone.number[1:]  # typed the international way; stored as E.164
    sent = browser.submit("/identity/create/phone", phone_number=international)
    assert sent.headers.get("location") == "/identity/create/check-phone", sent.text[:500]
    code = phone.code()
    assert phone.texts()[0] == f"{code} is your GaaP security code. It expires in 15 minutes."
    page = browser.get("/identity/create/check-phone")
    assert phone.number[-3:] in page.text and phone.number[1:] not in page.text  # only the ending is shown
    wrong = browser.submit("/identity/create/check-phone", code="000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and "The code you entered is not correct" in wrong.text
    done = browser.submit("/identity/create/check-phone", code=code)
    assert done.headers.get("location") == "/identity/continue", done.text[:500]
    answer = browser.follow(browser.get("/identity/continue"))
    info = userinfo(identity_rig, rp, answer.headers["location"])
    assert info["phone_number"] == phone.e164 and info["phone_number_verified"] is True
    assert info["email"] == email

    # Later, in another browser: the password, then a code texted when the code page is first shown.
    other = identity_rig.browser()
    try:
        other.authorize(rp, scope="openid email phone")
        other.submit("/identity/sign-in", email=email)
        to_code = other.submit("/identity/sign-in/password", password=PASSWORD)
        assert to_code.headers["location"] == "/identity/sign-in/security-code"
        first = other.get("/identity/sign-in/security-code")
        assert "Check your phone" in first.text and "Send the code again" in first.text
        old = phone.code()
        other.get("/identity/sign-in/security-code")  # a reload sends nothing new
        resent = other.submit("/identity/sign-in/security-code/resend")
        assert resent.headers["location"] == "/identity/sign-in/security-code"
        new = phone.code()
        assert len(phone.texts()) == 3  # sign-up, first sign-in code, the code sent again
        if old != new:
            voided = other.submit("/identity/sign-in/security-code", code=old)
            assert voided.status_code == 400, voided.text[:300]
        signed_in = other.follow(other.submit("/identity/sign-in/security-code", code=new))
        assert signed_in.headers["location"].startswith(rp.redirect_uri)
        assert userinfo(identity_rig, rp, signed_in.headers["location"])["phone_number"] == phone.e164
    finally:
        other.close()


def test_the_phone_claims_are_only_for_accounts_that_use_text_messages(
    identity_rig: IdentityRig, rp: RelyingParty, browser: Browser, person: Person
) -> None:
    browser.authorize(rp, scope="openid phone")
    info = userinfo(identity_rig, rp, browser.sign_in(person).headers["location"])
    assert set(info) == {"sub"}


def test_wrong_codes_void_the_code_and_then_lock_code_entry(
    identity_rig: IdentityRig, rp: RelyingParty, browser: Browser, phone: Phone
) -> None:
    person = identity_rig.texting_person(phone)
    browser.authorize(rp)
    browser.submit("/identity/sign-in", email=person.email)
    browser.submit("/identity/sign-in/password", password=person.password)
    browser.get("/identity/sign-in/security-code")
    code = phone.code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):  # five wrong tries void the code
        assert browser.submit("/identity/sign-in/security-code", code=wrong).status_code == 400
    # The sixth wrong code for the account in 15 minutes (the voided one counts) blocks code entry.
    locked = browser.submit("/identity/sign-in/security-code", code=code)
    assert locked.status_code == 429 and "You entered the wrong security code too many times" in locked.text


def test_sends_are_limited_per_account_and_per_phone_number(
    identity_rig: IdentityRig, rp: RelyingParty, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity_rig.settings, "phone_sends_per_window", 3)
    first, second = identity_rig.texting_person(phone), identity_rig.texting_person(phone)
    with identity_rig.browser() as one, identity_rig.browser() as two:
        for browser, person in ((one, first), (two, second)):
            browser.authorize(rp)
            browser.submit("/identity/sign-in", email=person.email)
            browser.submit("/identity/sign-in/password", password=person.password)
            assert browser.get("/identity/sign-in/security-code").status_code == 200
        assert two.submit("/identity/sign-in/security-code/resend").status_code == 303  # the number's third text
        refused = two.submit("/identity/sign-in/security-code/resend")
        assert refused.status_code == 429 and "You asked for too many codes" in refused.text
        assert len(phone.texts_when(3)) == 3
        # Per account: 5 sends in 15 minutes, whatever the number.
        monkeypatch.setattr(identity_rig.settings, "phone_sends_per_window", 100)
        for _ in range(4):
            assert one.submit("/identity/sign-in/security-code/resend").status_code == 303
        refused = one.submit("/identity/sign-in/security-code/resend")
        assert refused.status_code == 429 and "You asked for too many codes" in refused.text

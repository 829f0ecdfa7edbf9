"""Single sign-on, step-up, `prompt`, `max_age` and `response_mode` through the real pages (spec §5.4, §9.5)."""

from __future__ import annotations

import time

import httpx

from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_code_flow import exchange, signed_in_code


def test_single_sign_on_answers_at_once(rp: RelyingParty, person: Person, browser: Browser) -> None:
    signed_in_code(browser, rp, person)
    again = browser.authorize(rp)
    assert again.status_code == 302
    assert again.headers["location"].startswith(rp.redirect_uri)


def test_step_up_asks_only_for_the_second_factor(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    browser.authorize(rp, vtr='["Cl"]')
    answer = browser.sign_in(person, second_factor=False)
    assert answer.status_code == 302, answer.text[:300]
    tokens = exchange(identity_rig, rp, code_from(answer.headers["location"])["code"]).json()
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    assert rp.verify_id_token(tokens["id_token"], jwks)["vot"] == "Cl"
    step_up = browser.get("/authorize", params=rp.authorize_params())
    assert step_up.headers["location"] == "/identity/sign-in/security-code"
    done = browser.follow(browser.submit("/identity/sign-in/security-code", code=person.next_code()))
    tokens = exchange(identity_rig, rp, code_from(done.headers["location"])["code"]).json()
    claims = rp.verify_id_token(tokens["id_token"], jwks)
    assert claims["vot"] == "Cl.Cm"  # exactly the level asked for


def test_prompt_none(rp: RelyingParty, person: Person, browser: Browser) -> None:
    state = "s" * 128
    refused = browser.get("/authorize", params=rp.authorize_params(prompt="none", state=state))
    assert refused.status_code == 302
    assert code_from(refused.headers["location"]) == {
        "error": "login_required",
        "error_description": "Login required",
        "error_uri": rp.issuer + "identity/documentation#login_required",
        "state": state,
    }
    signed_in_code(browser, rp, person)
    silent = browser.get("/authorize", params=rp.authorize_params(prompt="none"))
    assert "code" in code_from(silent.headers["location"])


def test_prompt_login_and_max_age_ask_for_a_new_sign_in(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    first = signed_in_code(browser, rp, person)
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    before = rp.verify_id_token(exchange(identity_rig, rp, first["code"]).json()["id_token"], jwks)["auth_time"]
    page = browser.authorize(rp, prompt="login")
    assert page.status_code == 200
    assert 'name="email"' in page.text  # the sign-in page, despite a live session
    time.sleep(1.1)
    again = signed_in_code(browser, rp, person, max_age="0")
    after = rp.verify_id_token(exchange(identity_rig, rp, again["code"]).json()["id_token"], jwks)["auth_time"]
    assert after > before
    kept = browser.authorize(rp, max_age="10000")
    assert kept.status_code == 302  # within max_age: the session is reused


def test_fragment_response_mode(rp: RelyingParty, person: Person, browser: Browser) -> None:
    browser.authorize(rp, response_mode="fragment")
    answer = browser.sign_in(person)
    location = answer.headers["location"]
    assert "#code=" in location and "?" not in location
    assert code_from(location)["state"] == rp.state


def test_the_session_cookie_changes_at_each_level(rp: RelyingParty, person: Person, browser: Browser) -> None:
    browser.authorize(rp)
    before = browser.client.cookies.get("identity_session")
    browser.submit("/identity/sign-in", email=person.email)
    browser.submit("/identity/sign-in/password", password=person.password)
    at_cl = browser.client.cookies.get("identity_session")
    browser.submit("/identity/sign-in/security-code", code=person.next_code())
    at_cl_cm = browser.client.cookies.get("identity_session")
    assert len({before, at_cl, at_cl_cm}) == 3


def test_ui_locales_picks_welsh(rp: RelyingParty, browser: Browser) -> None:
    page = browser.authorize(rp, ui_locales="cy-GB en")
    assert page.headers["content-language"] == "cy"

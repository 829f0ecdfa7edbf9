"""Signing in to the console through identity (code flow, PKCE, `private_key_jwt`, `Cl.Cm`), who may, and
signing out of the console and of identity."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tests.gateway.console.conftest import ADMIN, OPERATOR, ConsoleBrowser, ConsoleRig

SESSION_COOKIE = "gaap-console"


def test_every_console_page_sends_a_visitor_without_a_session_to_sign_in(browser: ConsoleBrowser) -> None:
    for path in ("/console", "/console/status", "/console/services/6f1c1f9e-0000-4000-8000-000000000000/api-keys"):
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/sign-in?" + f"next={path.replace('/', '%2F')}"


def test_the_way_back_after_signing_in_keeps_the_pages_query(browser: ConsoleBrowser) -> None:
    path = "/console/services/6f1c1f9e-0000-4000-8000-000000000000/payments?mode=test&reference=RAP-1"
    response = browser.get(path)
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query)["next"] == [path]


def test_sign_in_asks_identity_for_a_code_at_cl_cm(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    response = browser.get("/console/sign-in?next=/console/status")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == console_rig.url + "/authorize"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == "gaap-console"
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == console_rig.url + "/console/sign-in/callback"
    assert params["scope"] == "openid email"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert json.loads(params["vtr"]) == ["Cl.Cm"]
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("gaap-console-sign-in=") and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_demo_admin_signs_in_with_password_and_app_and_sees_their_services(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    """The seeded console admin (`gaap up`'s demo user), once: each test below signs in a new admin, since an
    authenticator code is accepted once per account."""
    page = browser.sign_in_to_console(console_rig.person(ADMIN), "/console/status")
    assert page.status_code == 200
    assert urlsplit(str(page.url)).path == "/console/status"
    assert "Platform status" in page.text and f"Signed in as {ADMIN}" in page.text
    session = browser.client.cookies.get(SESSION_COOKIE)
    assert session
    services = browser.get("/console")
    assert "Demo service" in services.text and "Demo Department" in services.text
    assert "GaaP sign-in" not in services.text  # the admin is not on the platform's teams


def test_session_cookie_is_http_only_and_lax(console_rig: ConsoleRig) -> None:
    browser = console_rig.browser()
    try:
        browser.follow_all(browser.get("/console"))
        back = browser.sign_in(console_rig.admin())
        callback = browser.get(back.headers["location"])
        assert callback.status_code == 303 and callback.headers["location"] == "/console"
        cookies = callback.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session
        assert "Secure" not in session  # development over plain http, like identity's own cookies
        assert any(c.startswith("gaap-console-sign-in=") and "Max-Age=0" in c for c in cookies)
        # The code is single-use at identity, and the attempt cookie is gone: the same answer cannot be replayed.
        again = browser.get(back.headers["location"])
        assert again.status_code == 400
    finally:
        browser.close()


def test_only_console_pages_are_returned_to(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.follow_all(browser.get("/console/sign-in?next=https://evil.example/console"))
    landed = browser.follow_all(browser.sign_in(console_rig.admin()))
    assert urlsplit(str(landed.url)).path == "/console"


def test_an_answer_for_another_sign_in_is_refused(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    response = browser.get("/console/sign-in/callback?code=abc&state=not-this-browsers")
    assert response.status_code == 400
    assert "Sorry, there is a problem with your request" in response.text
    browser.follow_all(browser.get("/console"))
    back = browser.sign_in(console_rig.admin())
    params = parse_qs(urlsplit(back.headers["location"]).query)
    forged = browser.get(f"/console/sign-in/callback?code={params['code'][0]}&state=forged")
    assert forged.status_code == 400
    assert browser.client.cookies.get(SESSION_COOKIE) is None


def test_identity_error_answers_are_refused(browser: ConsoleBrowser) -> None:
    to_identity = browser.get("/console/sign-in")
    state = parse_qs(urlsplit(to_identity.headers["location"]).query)["state"][0]
    response = browser.get(f"/console/sign-in/callback?error=access_denied&state={state}")
    assert response.status_code == 400


def test_someone_on_no_team_cannot_use_the_console(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    page = browser.sign_in_to_console(console_rig.person())
    assert page.status_code == 403
    assert "You cannot use the console" in page.text
    assert browser.client.cookies.get(SESSION_COOKIE) is None


def test_operator_sees_every_service(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    page = browser.sign_in_to_console(console_rig.person(OPERATOR))
    assert page.status_code == 200
    for name in ("Demo service", "GaaP sign-in", "GaaP payments", "GaaP platform"):
        assert name in page.text
    service = browser.get(f"/console/services/{console_rig.console_service_id}")
    assert service.status_code == 200 and "Manage API keys" in service.text


def test_sign_out_ends_the_console_session_and_identitys(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin())
    refused = browser.client.post("/console/sign-out", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    out = browser.post_with_token("/console/sign-out", "/console")
    assert out.status_code == 303
    logout = urlsplit(out.headers["location"])
    assert logout.path == "/logout" and "id_token_hint" in parse_qs(logout.query)
    landed = browser.follow_all(out)
    assert urlsplit(str(landed.url)).path == "/console/signed-out"
    assert "You have signed out" in landed.text
    assert browser.get("/console").status_code == 303
    # Identity's session ended too: signing in again asks for the password, not just a redirect back.
    again = browser.follow_all(browser.get("/console"))
    assert urlsplit(str(again.url)).path == "/identity/sign-in"


def test_a_tampered_session_is_no_session(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin())
    value = browser.client.cookies.get(SESSION_COOKIE)
    assert value
    body, signature = value.split(".")
    browser.client.cookies.set(SESSION_COOKIE, body[:-2] + "xx." + signature)
    assert browser.get("/console").status_code == 303


def test_console_pages_in_welsh(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin())
    page = browser.get("/console?lang=cy")
    assert '<html lang="cy"' in page.text
    assert "Eich gwasanaethau" in page.text and "Allgofnodi" in page.text

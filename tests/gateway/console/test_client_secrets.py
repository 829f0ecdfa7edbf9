"""Client secrets in the console (identity spec §6): an admin registers a `client_secret_basic` client without a
key, has identity make its secret, sees it once (audited), and the relying party uses it at `/token`; a new secret
replaces the old. A secret with an identity level is refused by identity on the form; a client identity does not
hold as a client-secret client yet gets no secret; only admins may ask."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx

from gateway.console.clients import ClientForm
from tests.gateway.console.admin_support import audit_events, register_while_identity_is_down, sweep
from tests.gateway.console.conftest import CSRF, ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_clients import _clients_path, _fields, _identity_client, _post
from tests.identity.support import RelyingParty
from tests.identity.test_code_flow import signed_in_code

SECRET = re.compile(r'<code id="client-secret" class="govuk-!-text-break-word">([^<]+)</code>')
CLIENT_ID = re.compile(r'<strong id="client-id">([^<]+)</strong>')
REDIRECT = "http://127.0.0.1:9999/callback"


def _secret_fields(name: str, **changes: Any) -> dict[str, Any]:
    secret = {
        "redirect_uris": REDIRECT,
        "levels": ["Cl.Cm"],
        "token_auth_method": "client_secret_basic",
        "key_source": "",
        "public_key": "",
    }
    return _fields(name, **{**secret, **changes})


def _generate(browser: ConsoleBrowser, client_path: str) -> httpx.Response:
    """Press "Generate a new client secret" on the client's page (its form, with its CSRF token)."""
    page = browser.get(client_path)
    assert f'action="{client_path}/secret"' in page.text, page.text[:2000]
    token = CSRF.search(page.text)
    assert token
    browser.last = browser.client.post(client_path + "/secret", data={"csrf_token": token.group(1)})
    return browser.last


def _token(rig: ConsoleRig, rp: RelyingParty, code: str, secret: str) -> httpx.Response:
    form = rp.token_form(code, client_assertion_type=None, client_assertion=None)
    return httpx.post(rig.url + "/token", data=form, auth=(rp.client_id, secret), timeout=30)


def test_admin_makes_a_client_secret_that_works_at_the_token_endpoint(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    admin = console_rig.admin()
    browser.sign_in_to_console(admin, _clients_path(console_rig))
    clients_path = _clients_path(console_rig)
    # A secret is never enough for an identity check: identity refuses, and says so at the method's field.
    refused = _post(browser, clients_path + "/register", _secret_fields("Secret P2", levels=["Cl.Cm", "Cl.Cm.P2"]))
    assert refused.status_code == 400
    assert '<a href="#token_auth_method">TokenAuthMethod client_secret_basic cannot be combined' in refused.text

    registered = _post(browser, clients_path + "/register", _secret_fields(f"Secret client {uuid.uuid4().hex[:6]}"))
    assert registered.status_code == 303, registered.text
    shown = browser.get(registered.headers["location"])
    client_id = CLIENT_ID.search(shown.text).group(1)  # type: ignore[union-attr]
    assert "<code>client_secret_basic</code>" in shown.text and "then generate its client secret" in shown.text
    held = asyncio.run(_identity_client(console_rig, client_id))
    assert held is not None and held.token_auth_method == "client_secret_basic" and held.public_jwks is None
    assert held.client_secret_hash is None

    client_path = f"{clients_path}/{client_id}"
    made = _generate(browser, client_path)
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"].startswith("no-store")
    assert "You will not be able to see it again. The previous client secret has stopped working." in made.text
    first = SECRET.search(made.text).group(1)  # type: ignore[union-attr]
    assert first not in browser.get(client_path).text  # shown once
    assert audit_events(console_rig, "oidc_client.secret_generated", actor=f"console:{admin.email}") == [
        (f"console:{admin.email}", {"token_auth_method": "client_secret_basic"})
    ]

    rp = RelyingParty(client_id, console_rig.url + "/", redirect_uri=REDIRECT)
    tokens = _token(console_rig, rp, signed_in_code(browser, rp, admin)["code"], first)
    assert tokens.status_code == 200, tokens.text
    jwks = httpx.get(console_rig.url + "/.well-known/jwks.json").json()
    assert rp.verify_id_token(tokens.json()["id_token"], jwks)["aud"] == client_id

    second = SECRET.search(_generate(browser, client_path).text).group(1)  # type: ignore[union-attr]
    assert second != first
    code = signed_in_code(browser, rp, admin)["code"]
    old = _token(console_rig, rp, code, first)
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert old.headers["www-authenticate"].startswith("Basic ")
    assert _token(console_rig, rp, code, second).status_code == 200


def test_no_secret_for_a_client_identity_does_not_hold_with_a_secret_method(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    """A client registered while identity was down: identity refuses to make a secret, the page says so and
    nothing is audited. A private_key_jwt client has no secret action at all; a non-admin may not ask."""
    admin = console_rig.admin()
    browser.sign_in_to_console(admin, _clients_path(console_rig))
    form = ClientForm(name="Offline secret", redirect_uris=REDIRECT, token_auth_method="client_secret_post")
    waiting = register_while_identity_is_down(console_rig.gateway_db, console_rig.demo_service_id, form)
    client_path = f"{_clients_path(console_rig)}/{waiting}"
    answer = _generate(browser, client_path)
    assert answer.status_code == 409, answer.text
    assert "Identity does not hold this client with a client secret method yet, so it made no secret." in answer.text
    assert "<title>Error: " in answer.text
    assert audit_events(console_rig, "oidc_client.secret_generated", actor=f"console:{admin.email}") == []
    assert sweep(console_rig, console_rig.demo_service_id).get("delivered")  # identity takes it later

    keyed = _post(browser, _clients_path(console_rig) + "/register", _fields("Keyed client"))
    keyed_path = keyed.headers["location"].split("?")[0]
    assert "/secret" not in browser.get(keyed_path).text
    token = CSRF.search(browser.get(keyed_path).text)
    assert token
    assert browser.client.post(keyed_path + "/secret", data={"csrf_token": token.group(1)}).status_code == 404

    with console_rig.browser() as other:
        other.sign_in_to_console(
            console_rig.member(["send_messages"]), f"/console/services/{console_rig.demo_service_id}"
        )
        token = CSRF.search(other.get(f"/console/services/{console_rig.demo_service_id}").text)
        assert token
        assert other.client.post(client_path + "/secret", data={"csrf_token": token.group(1)}).status_code == 403

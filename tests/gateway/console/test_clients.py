"""OpenID Connect clients in the console, against a real identity behind the gateway's outbox: register (the
client id shown with the issuer and discovery URL), edit, remove; identity's refusals shown in the error summary
and the change undone; identity unreachable, the change kept and shown as not confirmed until the sweeper delivers
it (or identity refuses it then); every change audited; `admin` only."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
from joserfc.jwk import ECKey
from sqlalchemy import select

from gaap.db.engine import Database
from gateway.audit import service as audit
from gateway.console import client_records as records
from gateway.console.clients import ClientForm, refused_errors
from gateway.sync.service import Pusher
from gateway.sync.settle import Verdict
from gateway.tenants import repository as tenant_repo
from services.identity.clients.models import Client
from tests.gateway.console.admin_support import audit_events, dead_pusher, new_service, service, sweep
from tests.gateway.console.conftest import CSRF, ConsoleBrowser, ConsoleRig

CLIENT_ID = re.compile(r'<strong id="client-id">([^<]+)</strong>')


def _clients_path(rig: ConsoleRig) -> str:
    return f"/console/services/{rig.demo_service_id}/identity/clients"


def _public_jwk() -> dict[str, Any]:
    return dict(ECKey.generate_key("P-256").as_dict(private=False))


def _post(browser: ConsoleBrowser, url: str, fields: dict[str, Any]) -> httpx.Response:
    """Post the form on `url` (with its CSRF token) with `fields`, which may repeat (lists)."""
    token = CSRF.search(browser.client.get(url).text)
    assert token, url
    browser.last = browser.client.post(url, data={"csrf_token": token.group(1), **fields})
    return browser.last


def _fields(name: str, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": name,
        "redirect_uris": "http://127.0.0.1:9999/callback\nhttp://127.0.0.1:9999/other",
        "levels": ["Cl.Cm", "Cl.Cm.P2"],
        "scopes": ["email"],
        "key_source": "STATIC",
        "public_key": json.dumps(_public_jwk()),
        "subject_type": "pairwise",
        "post_logout_uris": "http://127.0.0.1:9999/signed-out",
        "backchannel_uri": "",
    }
    return {**fields, **changes}


async def _identity_client(rig: ConsoleRig, client_id: str) -> Client | None:
    db = Database(rig.identity_db, pool_size=1)
    try:
        async with db.read_session() as session:
            client = (await session.execute(select(Client).where(Client.client_id == client_id))).scalar_one_or_none()
            if client is not None:
                session.expunge(client)
            return client
    finally:
        await db.dispose()


async def _audit(rig: ConsoleRig, client_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    db = Database(rig.gateway_db, pool_size=1)
    try:
        async with db.read_session() as session:
            events = await audit.search(session, service_id=str(rig.demo_service_id), limit=500)
            return [(e.action, e.actor, e.details) for e in reversed(events) if e.target_id == client_id]
    finally:
        await db.dispose()


async def _stored(rig: ConsoleRig) -> list[dict[str, Any]]:
    db = Database(rig.gateway_db, pool_size=1)
    try:
        async with db.read_session() as session:
            service = await tenant_repo.get_service(session, rig.demo_service_id)
            assert service is not None
            return records.clients_of(service)
    finally:
        await db.dispose()


def test_admin_registers_edits_and_removes_a_client(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    page = browser.sign_in_to_console(admin, f"/console/services/{console_rig.demo_service_id}")
    clients_path = _clients_path(console_rig)
    assert clients_path in page.text
    name = f"Renew a licence {uuid.uuid4().hex[:6]}"
    registered = _post(browser, clients_path + "/register", _fields(name))
    assert registered.status_code == 303, registered.text
    shown = browser.get(registered.headers["location"])
    client_id = CLIENT_ID.search(shown.text).group(1)  # type: ignore[union-attr]
    assert registered.headers["location"] == f"{clients_path}/{client_id}?registered=1"
    issuer = console_rig.url + "/"
    assert "Client registered" in shown.text
    assert f"<code>{issuer}</code>" in shown.text
    assert f"<code>{issuer}.well-known/openid-configuration</code>" in shown.text
    assert httpx.get(f"{issuer}.well-known/openid-configuration").json()["issuer"] == issuer

    assert "<code>ES256</code>" in shown.text, "ID tokens signed with ES256 unless the admin chooses otherwise"
    held = asyncio.run(_identity_client(console_rig, client_id))
    assert held is not None, "identity holds the client before the page answers"
    assert held.id_token_signing_alg == "ES256"
    assert held.redirect_uris == ["http://127.0.0.1:9999/callback", "http://127.0.0.1:9999/other"]
    assert held.levels_of_confidence == ["P0", "P2"] and held.identity_verification_supported
    assert held.subject_type == "pairwise" and held.sector == "127.0.0.1"
    assert held.scopes == ["email", "openid"] and held.post_logout_redirect_uris == ["http://127.0.0.1:9999/signed-out"]
    listing = browser.get(clients_path)
    assert name in listing.text and client_id in listing.text and "Cl.Cm, Cl.Cm.P2" in listing.text

    edit_path = f"{clients_path}/{client_id}/edit"
    form = browser.get(edit_path)
    assert "http://127.0.0.1:9999/other" in form.text and "&#34;crv&#34;: &#34;P-256&#34;" in form.text
    assert held.jar_validation_required is False and 'name="require_jar"' in form.text
    assert re.search(r'name="id_token_signing_algorithm" type="radio" value="ES256" checked', form.text)
    changes = {
        "redirect_uris": "http://localhost:9999/cb",
        "subject_type": "public",
        "require_jar": "yes",
        "id_token_signing_algorithm": "RS256",
    }
    saved = _post(browser, edit_path, _fields(name, **changes))
    assert saved.status_code == 303 and saved.headers["location"] == f"{clients_path}/{client_id}?saved=1"
    held = asyncio.run(_identity_client(console_rig, client_id))
    assert held is not None and held.redirect_uris == ["http://localhost:9999/cb"] and held.sector == "public"
    assert held.jar_validation_required is True and held.id_token_signing_alg == "RS256"
    page = browser.get(f"{clients_path}/{client_id}")
    assert "Only signed request objects" in page.text and "<code>RS256</code>" in page.text
    assert re.search(r'value="RS256" checked', browser.get(edit_path).text), "the form shows the choice"
    welsh = browser.get(f"{clients_path}/{client_id}?lang=cy").text
    assert "Algorithm llofnodi tocynnau ID" in welsh and "<code>RS256</code>" in welsh
    browser.get(f"{clients_path}/{client_id}?lang=en")  # the choice of language is kept: back to English

    confirm = browser.get(f"{clients_path}/{client_id}/remove")
    assert "Are you sure you want to remove this client?" in confirm.text
    removed = _post(browser, f"{clients_path}/{client_id}/remove", {})
    assert removed.status_code == 303 and removed.headers["location"] == f"{clients_path}?removed={client_id}"
    assert f"Client {client_id} removed" in browser.get(removed.headers["location"]).text
    assert asyncio.run(_identity_client(console_rig, client_id)) is None
    assert browser.get(f"{clients_path}/{client_id}").status_code == 404

    events = asyncio.run(_audit(console_rig, client_id))
    actor = f"console:{admin.email}"
    assert [(action, who) for action, who, _details in events] == [
        ("oidc_client.create", actor),
        ("oidc_client.update", actor),
        ("oidc_client.remove", actor),
    ]
    assert events[0][2]["redirect_uris"] == ["http://127.0.0.1:9999/callback", "http://127.0.0.1:9999/other"]
    assert [details["id_token_signing_algorithm"] for _a, _w, details in events[:2]] == ["ES256", "RS256"]
    assert "PublicKey" not in json.dumps(events[0][2]), "the audit log keeps the key's source, not the key"


def test_identity_refuses_a_private_key_and_nothing_is_kept(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _clients_path(console_rig))
    private = dict(ECKey.generate_key("P-256").as_dict(private=True))
    before = asyncio.run(_stored(console_rig))
    refused = _post(browser, _clients_path(console_rig) + "/register", _fields("Leaky", public_key=json.dumps(private)))
    assert refused.status_code == 400
    assert "govuk-error-summary" in refused.text and '<a href="#public_key">' in refused.text
    assert "PublicKey holds a private key: register the public key only" in refused.text
    assert "<title>Error: Register a client – GaaP console – GOV.UK</title>" in refused.text
    assert 'value="Leaky"' in refused.text, "the form comes back as the admin left it"
    assert asyncio.run(_stored(console_rig)) == before, "the refused client is not kept in the gateway"

    bad_uri = _post(
        browser, _clients_path(console_rig) + "/register", _fields("Plain", redirect_uris="http://x.gov.uk/")
    )
    assert bad_uri.status_code == 400
    assert '<a href="#redirect_uris">RedirectUrls must be an https URL' in bad_uri.text
    assert asyncio.run(_stored(console_rig)) == before
    actions = asyncio.run(_service_actions(console_rig))
    assert actions[-4:] == ["oidc_client.create", "oidc_client.revert", "oidc_client.create", "oidc_client.revert"]


async def _service_actions(rig: ConsoleRig) -> list[str]:
    db = Database(rig.gateway_db, pool_size=1)
    try:
        async with db.read_session() as session:
            events = await audit.search(session, service_id=str(rig.demo_service_id), limit=20)
            return [e.action for e in reversed(events)]
    finally:
        await db.dispose()


def test_the_form_says_what_is_missing(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _clients_path(console_rig))
    empty = _post(
        browser, _clients_path(console_rig) + "/register", {"key_source": "JWKS", "id_token_signing_algorithm": "HS256"}
    )
    assert empty.status_code == 400
    for field, text in [
        ("name", "Enter a name for the client"),
        ("redirect_uris", "Enter at least one redirect URI"),
        ("levels", "Select at least one level"),
        ("jwks_url", "Enter the URL of the client’s JWKS"),
        ("id_token_signing_algorithm", "Select how identity signs the client’s ID tokens"),
        ("subject_type", "Select which identifier the client is given"),
    ]:
        assert f'<a href="#{field}">{text}' in empty.text, field
    welsh = browser.client.get(_clients_path(console_rig) + "/register?lang=cy")
    assert welsh.status_code == 200 and "Cofrestru cleient" in welsh.text


def test_only_admins_manage_clients(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    member = console_rig.member(["send_messages", "manage_api_keys"])
    service = browser.sign_in_to_console(member, f"/console/services/{console_rig.demo_service_id}")
    assert "/identity/clients" not in service.text
    assert browser.get(_clients_path(console_rig)).status_code == 403
    assert browser.get(_clients_path(console_rig) + "/register").status_code == 403
    token = CSRF.search(service.text)
    assert token
    posted = browser.client.post(
        _clients_path(console_rig) + "/register", data={"csrf_token": token.group(1), **_fields("Sneaky")}
    )
    assert posted.status_code == 403
    assert not [c for c in asyncio.run(_stored(console_rig)) if c.get("ClientName") == "Sneaky"]


def _change(rig: ConsoleRig, service_id: uuid.UUID, pusher_of: Any, client_id: str, record: Any) -> Verdict:
    """`client_records.change` as the client pages call it, with the pusher `pusher_of(db)` makes."""

    async def work() -> Verdict:
        db = Database(rig.gateway_db, pool_size=2)
        pusher = pusher_of(db)
        try:
            action = "oidc_client.remove" if record is None else "oidc_client.create"
            return await records.change(
                db, pusher, service_id, client_id=client_id, record=record, actor="test", action=action
            )
        finally:
            await pusher.close()
            await db.dispose()

    result: Verdict = asyncio.run(work())
    return result


def _record(client_id: str, *, private_key: str = "") -> dict[str, Any]:
    """A client's record as the form makes it: with a JWKS URL, or with `private_key` pasted as its key."""
    form = ClientForm(
        name="Offline",
        redirect_uris="http://127.0.0.1/cb",
        key_source="STATIC" if private_key else "JWKS",
        public_key=private_key,
        jwks_url="https://rp.example/jwks",
    )
    return form.record(client_id)


def test_identity_unreachable_keeps_the_change_until_it_is_delivered(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    """The change is committed with its push and kept; the pages say identity has not confirmed it until the
    sweeper delivers it. A change identity refuses only then is shown as refused, and stays for the admin to fix."""
    admin = console_rig.person()
    service_id = new_service(console_rig, admin.email)
    path = f"/console/services/{service_id}/identity/clients"
    client_id = records.new_client_id()
    down = _change(console_rig, service_id, lambda db: dead_pusher(db, "identity"), client_id, _record(client_id))
    assert down.pending and "ClientConnectorError" in down.message
    assert [c["ClientID"] for c in records.clients_of(service(console_rig, service_id))] == [client_id]
    assert [e[0] for e in audit_events(console_rig, "oidc_client.create", service_id=str(service_id))] == ["test"]
    assert audit_events(console_rig, "oidc_client.revert", service_id=str(service_id)) == []
    assert asyncio.run(_identity_client(console_rig, client_id)) is None

    listing = browser.sign_in_to_console(admin, path)
    assert "Identity has not confirmed the latest change yet" in listing.text and "Not confirmed yet" in listing.text
    page = browser.get(f"{path}/{client_id}?registered=1")
    assert "Identity has not confirmed this client yet" in page.text
    assert "Client registered" not in page.text, "no confirmation while identity does not hold it"

    assert sweep(console_rig, service_id).get("delivered")
    assert asyncio.run(_identity_client(console_rig, client_id)) is not None
    listing = browser.get(path)
    assert "Confirmed" in listing.text and "not confirmed" not in listing.text.lower()
    assert "Identity has not confirmed" not in browser.get(f"{path}/{client_id}").text

    leaky = records.new_client_id()
    private = json.dumps(ECKey.generate_key("P-256").as_dict(private=True))
    record = _record(leaky, private_key=private)
    assert _change(console_rig, service_id, lambda db: dead_pusher(db, "identity"), leaky, record).pending
    assert sweep(console_rig, service_id).get("rejected") == 1
    listing = browser.get(path)
    assert "Identity refused the latest change to these clients" in listing.text
    assert "PublicKey holds a private key" in listing.text
    rows = re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', listing.text, re.S)
    states = {cid: ("Refused" in row, "Confirmed" in row) for row in rows for cid in (client_id, leaky) if cid in row}
    assert states == {client_id: (False, True), leaky: (True, False)}
    refused = browser.get(f"{path}/{leaky}")
    assert "govuk-error-summary" in refused.text and "Edit this client to correct it, or remove it" in refused.text
    assert asyncio.run(_identity_client(console_rig, leaky)) is None

    removed = _change(console_rig, service_id, lambda db: Pusher.from_settings(db, console_rig.settings), leaky, None)
    assert removed.delivered
    settled = browser.get(path)
    assert "Identity refused" not in settled.text and "Identity has not confirmed" not in settled.text


def test_a_record_keeps_what_the_form_does_not_manage() -> None:
    kept = {"ClientID": "c1", "Claims": ["https://vocab.account.gov.uk/v1/coreIdentityJWT"], "PKCEEnforced": True}
    form = ClientForm.of(
        {**kept, "PublicKeySource": "JWKS", "JwksUrl": "https://rp.example/jwks", "ClientLoCs": ["P2"]}
    )
    assert form.levels == ["Cl.Cm.P2"] and form.key_source == "JWKS"
    form.key_source, form.public_key = "STATIC", '{"kty": "EC"}'
    record = form.record("c1", {**kept, "JwksUrl": "https://rp.example/jwks"})
    assert record["Claims"] == kept["Claims"] and record["PKCEEnforced"] is True
    assert record["PublicKey"] == {"kty": "EC"} and "JwksUrl" not in record
    assert record["ClientLoCs"] == ["P2"] and record["IdentityVerificationSupported"] is True
    assert record["IdTokenSigningAlgorithm"] == "ES256"  # a record without one: One Login's default, made explicit
    rsa = ClientForm.of({**kept, "IdTokenSigningAlgorithm": "RS256", "JwksUrl": "https://rp.example/jwks"})
    assert rsa.id_token_signing_algorithm == "RS256" and rsa.record("c1", kept)["IdTokenSigningAlgorithm"] == "RS256"


def test_refusals_point_at_their_field() -> None:
    assert refused_errors("client abc: JwksUrl must be on a public address: 'https://10.0.0.1/'") == (
        {"jwks_url": "JwksUrl must be on a public address: 'https://10.0.0.1/'"},
        [],
    )
    assert refused_errors("a ClientID appears twice") == ({}, ["a ClientID appears twice"])

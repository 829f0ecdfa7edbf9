"""Identity proving through the real pages (spec §10, §7): a relying party asks for `P2` (or `P1`), each sandbox
identity S1–S7 goes through the journey, and the RP checks the core identity JWT against the DID-published key."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt
import pytest
from jsonschema import Draft202012Validator

from services.identity.oidc.authorize import CLAIMS_SUPPORTED
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from

VOCAB = "https://vocab.account.gov.uk/v1/"
CORE, RETURN_CODE = VOCAB + "coreIdentityJWT", VOCAB + "returnCode"
ALL_CLAIMS = [CORE, VOCAB + "address", VOCAB + "passport", VOCAB + "drivingPermit", RETURN_CODE]
S1_MRZ = "1234567897GBR8503149F3106305<<<<<<<<<<<<<<<2"
#: Spec §10.5: what each sandbox identity types in, and the right KBV answers.
SANDBOX: dict[str, dict[str, Any]] = {
    "S1": {"document": "passport", "given_names": "Ada", "family_name": "Testwell", "birth_date": "1985-03-14",
           "number": "123456789", "expiry": "2031-06-30", "mrz": S1_MRZ, "postal_code": "SB1 1AA",
           "valid_from": "2015", "answers": ("Sandbox Bank", "2015", "£100 to £199")},
    "S2": {"document": "driving-licence", "given_names": "Bryn Edward", "family_name": "Hughes",
           "birth_date": "1972-09-02", "number": "HUGHE709022BE9SX", "issue_number": "12", "expiry": "2029-09-01",
           "postal_code": "SB2 2BB", "valid_from": "2010",
           "answers": ("Example Building Society", "2010", "I have no loan")},
    "S3": {"document": "driving-licence", "given_names": "Cara", "family_name": "Lowe", "birth_date": "1990-01-17",
           "number": "LOWE9951170C99LK", "issue_number": "03", "expiry": "2030-01-16", "postal_code": "SB3 3CC",
           "valid_from": "2019", "answers": ("Sandbox Bank", "2019", "Up to £99")},
    "S4": {"document": "passport", "given_names": "Dev", "family_name": "Kemp", "birth_date": "1979-11-23",
           "number": "543219876", "expiry": "2019-01-01", "postal_code": "SB4 4DD", "valid_from": "2012"},
    "S5": {"document": "passport", "given_names": "Evan", "family_name": "Marker", "birth_date": "1988-05-05",
           "number": "987654321", "expiry": "2033-04-02", "postal_code": "SB5 5EE", "valid_from": "2018"},
    "S6": {"document": "passport", "given_names": "Fay", "family_name": "Thinfile", "birth_date": "1995-12-31",
           "number": "246813579", "expiry": "2030-10-10", "postal_code": "SB6 6FF", "valid_from": "2021"},
    "S7": {"document": "passport", "given_names": "Gus", "family_name": "Outage", "birth_date": "1970-07-07",
           "number": "111111111", "expiry": "2030-01-01", "postal_code": "SB7 7GG", "valid_from": "2000"},
}  # fmt: skip
DOCUMENT_FIELDS = ("given_names", "family_name", "birth_date", "number", "issue_number", "expiry", "mrz")


def proving_rp(rig: IdentityRig) -> RelyingParty:
    return rig.rp(ClientLoCs=["P0", "P1", "P2"], IdentityVerificationSupported=True, Claims=ALL_CLAIMS)


def claims(*names: str) -> str:
    return json.dumps({"userinfo": dict.fromkeys(names)})


def prove(browser: Browser, identity: dict[str, Any], answers: tuple[str, ...] | None = None) -> httpx.Response:
    """From the choice of document to wherever the journey ends (the RP redirect, normally)."""
    kind = identity["document"]
    chosen = browser.submit("/identity/prove", document=kind)
    assert chosen.headers["location"] == f"/identity/prove/document/{kind}", chosen.text[:300]
    fields = {name: identity[name] for name in DOCUMENT_FIELDS if name in identity}
    answer = browser.submit(f"/identity/prove/document/{kind}", **fields)
    if answer.headers.get("location") != "/identity/prove/address":
        return answer
    home = {"building": "1", "street": "Sandbox Street", "locality": "Testtown"}
    answer = browser.submit("/identity/prove/address", postal_code=identity["postal_code"],
                            valid_from=identity["valid_from"], **home)  # fmt: skip
    if answer.headers.get("location") != "/identity/prove/questions":
        return answer
    given = dict(zip(("KBV-BANK", "KBV-MOVE-YEAR", "KBV-LOAN"), answers or identity["answers"], strict=True))
    return browser.submit("/identity/prove/questions", **given)


def tokens_and_userinfo(rig: IdentityRig, rp: RelyingParty, location: str) -> tuple[dict[str, Any], dict[str, Any]]:
    assert location.startswith(rp.redirect_uri), location
    body = httpx.post(rig.gateway_url + "/token", data=rp.token_form(code_from(location)["code"]), timeout=30).json()
    id_token = rp.verify_id_token(body["id_token"], httpx.get(rig.gateway_url + "/.well-known/jwks.json").json())
    info = httpx.get(rig.gateway_url + "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    claims: dict[str, Any] = info.json()
    assert_matches_vocabulary(rig, claims)
    return id_token, claims


def assert_matches_vocabulary(rig: IdentityRig, info: dict[str, Any]) -> None:
    """Each vocabulary claim in UserInfo matches the schema identity publishes for it (spec R1); the core identity
    JWT's payload matches its `contentSchema`."""
    for name, value in info.items():
        if not name.startswith(VOCAB):
            continue
        schema = httpx.get(rig.gateway_url + "/identity/vocab/v1/" + name.removeprefix(VOCAB)).json()
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(value)
        if "contentSchema" in schema:
            payload = jwt.decode(value, options={"verify_signature": False})
            Draft202012Validator(schema["contentSchema"], format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
                payload
            )


def verify_core_identity(rig: IdentityRig, rp: RelyingParty, token: str, sub: str) -> dict[str, Any]:
    """The RP's checks (spec §7.1): ES256, the key found through the DID document, iss, aud, sub, exp."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    did = httpx.get(rig.gateway_url + "/.well-known/did.json").json()
    controller, _, _kid = header["kid"].partition("#")
    assert controller == did["id"] == "did:web:" + rig.gateway_url.removeprefix("http://").replace(":", "%3A")
    method = next(m for m in did["assertionMethod"] if m["id"] == header["kid"])
    assert method["controller"] == did["id"] and method["publicKeyJwk"]["alg"] == "ES256"
    payload: dict[str, Any] = jwt.decode(token, jwt.PyJWK(method["publicKeyJwk"]).key, algorithms=["ES256"],
                                         audience=rp.client_id, issuer=rig.issuer,
                                         options={"require": ["exp", "iat", "nbf", "sub"]})  # fmt: skip
    assert payload["sub"] == sub
    assert payload["exp"] - payload["iat"] == 1800
    assert payload["vtm"] == rig.issuer + "trustmark"
    return payload


def test_s1_proves_p2_and_the_credential_verifies(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    rp = proving_rp(identity_rig)
    asked = claims(CORE, VOCAB + "address", VOCAB + "passport", VOCAB + "drivingPermit")
    start = browser.authorize(rp, vtr='["Cl.Cm.P2"]', claims=asked)
    assert start.status_code == 200 and start.url.path == "/identity/sign-in"
    page = browser.sign_in(person)
    assert page.status_code == 200 and "Prove your identity" in page.text
    assert "These checks are simulated" in page.text
    finished = prove(browser, SANDBOX["S1"])
    assert finished.status_code == 302, finished.text[:500]
    id_token, info = tokens_and_userinfo(identity_rig, rp, finished.headers["location"])
    assert id_token["vot"] == "Cl.Cm"
    core = verify_core_identity(identity_rig, rp, info[CORE], id_token["sub"])
    assert core["vot"] == "P2"
    assert core["vc"]["credentialSubject"] == {
        "name": [{"nameParts": [{"value": "Ada", "type": "GivenName"}, {"value": "Testwell", "type": "FamilyName"}]}],
        "birthDate": [{"value": "1985-03-14"}],
    }
    assert info[VOCAB + "passport"] == [{"documentNumber": "123456789", "icaoIssuerCode": "GBR",
                                         "expiryDate": "2031-06-30"}]  # fmt: skip
    assert info[VOCAB + "address"][0]["postalCode"] == "SB1 1AA"
    assert info[VOCAB + "address"][0]["validFrom"] == "2015-01-01"
    assert VOCAB + "drivingPermit" not in info and RETURN_CODE not in info
    # The stored identity is reused: the next P2 request is answered at once, with no new checks.
    again = browser.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE))
    assert again.status_code == 302 and again.headers["location"].startswith(rp.redirect_uri)


@pytest.mark.parametrize(
    ("ref", "outcome"),
    [("S2", "P2"), ("S3", "A"), ("S4", "B"), ("S5", "C"), ("S6", "D"), ("S7", "temporarily_unavailable")],
)
def test_each_sandbox_identity(
    identity_rig: IdentityRig, person: Person, browser: Browser, ref: str, outcome: str
) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE, VOCAB + "drivingPermit", RETURN_CODE))
    browser.sign_in(person)
    identity = SANDBOX[ref]
    finished = prove(browser, identity)
    tries = 1
    while finished.status_code in (400, 503):  # the expired passport and the outage: tried again, up to 3 times
        assert "We could not" in finished.text
        finished = browser.submit(f"/identity/prove/document/{identity['document']}",
                                  **{n: identity[n] for n in DOCUMENT_FIELDS if n in identity})  # fmt: skip
        tries += 1
    assert finished.status_code == 302, finished.text[:500]
    if outcome == "temporarily_unavailable":
        assert tries == 3
        refused = code_from(finished.headers["location"])
        assert refused["error"] == outcome
        assert refused["error_uri"] == identity_rig.issuer + "identity/documentation#" + outcome
        return
    id_token, info = tokens_and_userinfo(identity_rig, rp, finished.headers["location"])
    if outcome == "P2":
        assert verify_core_identity(identity_rig, rp, info[CORE], id_token["sub"])["vot"] == "P2"
        assert info[VOCAB + "drivingPermit"] == [{"personalNumber": "HUGHE709022BE9SX", "issueNumber": "12",
                                                  "issuedBy": "DVLA", "expiryDate": "2029-09-01"}]  # fmt: skip
    else:
        assert tries == (3 if ref == "S4" else 1)
        assert info == {"sub": id_token["sub"], "email": person.email, "email_verified": True,
                        RETURN_CODE: [{"code": outcome}]}  # fmt: skip


def test_s1_with_two_kbv_answers_proves_p1_only(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp, vtr='["Cl.Cm.P1"]', claims=claims(CORE))
    browser.sign_in(person)
    finished = prove(browser, SANDBOX["S1"], ("Sandbox Bank", "2015", "Up to £99"))
    id_token, info = tokens_and_userinfo(identity_rig, rp, finished.headers["location"])
    assert verify_core_identity(identity_rig, rp, info[CORE], id_token["sub"])["vot"] == "P1"
    # A P1 identity does not meet a later P2 request: proving is needed again, but not today (one knowledge-based
    # check a day, spec §10.4), and the page says so before asking for anything.
    again = browser.authorize(rp, vtr='["Cl.Cm.P2"]')
    assert again.status_code == 200 and "You cannot prove your identity today" in again.text


def test_a_failure_without_return_code_is_access_denied(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE))
    browser.sign_in(person)
    finished = prove(browser, SANDBOX["S5"])
    assert code_from(finished.headers["location"])["error"] == "access_denied"


def test_step_up_from_cl_cm_to_p2_without_signing_in_again(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    signed_in = browser.sign_in(person) if browser.authorize(rp).status_code != 302 else browser.last
    assert signed_in is not None and signed_in.status_code == 302
    first, _ = tokens_and_userinfo(identity_rig, rp, signed_in.headers["location"])
    proving = proving_rp(identity_rig)
    page = browser.authorize(proving, vtr='["Cl.Cm.P2"]', claims=claims(CORE))
    assert page.status_code == 200 and "Prove your identity" in page.text  # no sign-in page on the way
    finished = prove(browser, SANDBOX["S2"])
    id_token, info = tokens_and_userinfo(identity_rig, proving, finished.headers["location"])
    assert id_token["auth_time"] == first["auth_time"]
    assert verify_core_identity(identity_rig, proving, info[CORE], id_token["sub"])["vot"] == "P2"


def test_pages_are_welsh_and_forms_need_csrf(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp, vtr='["Cl.Cm.P2"]', ui_locales="cy")
    page = browser.sign_in(person)
    assert "Profi eich hunaniaeth" in page.text and "<script" not in page.text.split("</form>")[0].split("<form")[-1]
    assert browser.client.post("/identity/prove", data={"document": "passport"}).status_code == 403
    wrong = browser.submit("/identity/prove/document/passport", given_names="Ada", family_name="Testwell",
                           birth_date="1985-03-14", number="12345678", expiry="2031-06-30",
                           mrz=S1_MRZ.replace("7GBR", "8GBR"))  # fmt: skip
    assert wrong.status_code == 400
    assert "Rhowch rif eich pasbort: 9 digid" in wrong.text
    assert "Nid yw&#39;r llinell peiriant-ddarllenadwy yn ddilys" in wrong.text


def test_prompt_none_and_discovery(identity_rig: IdentityRig, person: Person, browser: Browser) -> None:
    rp = proving_rp(identity_rig)
    browser.authorize(rp)
    browser.sign_in(person)
    silent = browser.get("/authorize", params=rp.authorize_params(vtr='["Cl.Cm.P2"]', prompt="none"))
    assert code_from(silent.headers["location"])["error"] == "interaction_required"
    assert browser.get("/identity/prove").status_code == 400  # no request waiting: the session page
    did = httpx.get(identity_rig.gateway_url + "/.well-known/did.json").json()
    assert did["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/jwk/v1"]
    assert len(did["assertionMethod"]) >= 2  # the active key and its standby
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    assert not {k["kid"] for k in jwks["keys"]} & {m["id"].partition("#")[2] for m in did["assertionMethod"]}


def test_every_vocabulary_claim_has_a_published_schema(identity_rig: IdentityRig) -> None:
    """Spec §3 and R1 (One Login's vocabulary URLs answer 404): one JSON Schema 2020-12 per vocabulary claim,
    through the gateway; the journeys above validate the claims they receive against them."""
    for claim in (c for c in CLAIMS_SUPPORTED if c.startswith(VOCAB)):
        name = claim.removeprefix(VOCAB)
        answer = httpx.get(identity_rig.gateway_url + "/identity/vocab/v1/" + name)
        assert answer.status_code == 200, (name, answer.text)
        assert answer.headers["content-type"] == "application/schema+json"
        assert answer.headers["cache-control"] == "public, max-age=86400"
        schema = answer.json()
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"{identity_rig.issuer}identity/vocab/v1/{name}"
    codes = httpx.get(identity_rig.gateway_url + "/identity/vocab/v1/returnCode").json()
    assert [c["const"] for c in codes["items"]["properties"]["code"]["oneOf"]] == ["B", "C", "D", "A"]
    unknown = httpx.get(identity_rig.gateway_url + "/identity/vocab/v1/socialSecurityRecord")
    assert unknown.status_code == 404 and unknown.json()["error"] == "invalid_request"

"""Sign-ins to a service's relying parties (`GET /internal/services/{id}/usage` and `…/sign-ins`): a row is written
when identity issues an authorization code, through the real pages, at `Cl`, `Cl.Cm` and with identity proving
(proved now, reused, failed with a return code); the per-day aggregate is counted in the database on SQLite and
PostgreSQL (the rig's two backends); no personal data leaves identity; only the gateway, for that service, asks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gaap.internal import INTERNAL_SCOPE
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.identity.usage.models import SignIn
from tests.gateway.conftest import MASTER
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.identity.test_code_flow import exchange, signed_in_code
from tests.identity.test_proving_journeys import ALL_CLAIMS, CORE, RETURN_CODE, SANDBOX, claims, prove

WEEK = {"from": "2026-03-01", "to": "2026-03-07"}


def internal(
    rig: IdentityRig, service_id: uuid.UUID, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})
) -> httpx.Client:
    principal = Principal(request_id=uuid.uuid4().hex, service_id=str(service_id), scopes=scopes)
    token = PrincipalSigner(parse_keyring(MASTER)).sign("identity", principal)
    return httpx.Client(base_url=rig.identity_url, headers={"X-Gaap-Principal": token}, timeout=30)


def read(rig: IdentityRig, service_id: uuid.UUID, what: str, **params: Any) -> dict[str, Any]:
    with internal(rig, service_id) as api:
        answer = api.get(f"/internal/services/{service_id}/{what}", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def today(rig: IdentityRig, service_id: uuid.UUID) -> dict[str, Any]:
    day = datetime.now(UTC).date().isoformat()
    (found,) = read(rig, service_id, "usage", **{"from": day, "to": day})["days"]
    assert found["date"] == day
    return dict(found)


def relying_party(rig: IdentityRig, **overrides: Any) -> tuple[RelyingParty, uuid.UUID]:
    """A new client on a new gateway service, and that service's id."""
    service_id = rig.new_service()
    rp = RelyingParty(f"rp-{uuid.uuid4().hex[:12]}", rig.issuer)
    assert rig.push([rp.record(**overrides)], service_id) == {"delivered": 1}
    return rp, service_id


def subject_of(rig: IdentityRig, rp: RelyingParty, location: str) -> str:
    tokens = exchange(rig, rp, code_from(location)["code"]).json()
    jwks = httpx.get(rig.gateway_url + "/.well-known/jwks.json").json()
    sub: str = rp.verify_id_token(tokens["id_token"], jwks)["sub"]
    return sub


def test_sign_ins_at_each_credential_level_are_recorded(
    identity_rig: IdentityRig, person: Person, browser: Browser
) -> None:
    rp, service_id = relying_party(identity_rig)
    other, _ = relying_party(identity_rig)
    browser.authorize(rp, vtr='["Cl"]')
    at_cl = browser.sign_in(person, second_factor=False)
    assert at_cl.status_code == 302, at_cl.text[:300]
    sub = subject_of(identity_rig, rp, at_cl.headers["location"])
    step_up = browser.get("/authorize", params=rp.authorize_params())  # to Cl.Cm: the second factor only
    assert step_up.headers["location"] == "/identity/sign-in/security-code"
    done = browser.follow(browser.submit("/identity/sign-in/security-code", code=person.next_code()))
    assert "code" in code_from(done.headers["location"])
    assert "code" in signed_in_code(browser, other, person)  # another service's client: not this one's
    stranger = identity_rig.browser()
    try:  # no session and no page: no code issued, so nothing recorded
        refused = stranger.get("/authorize", params=rp.authorize_params(prompt="none"))
    finally:
        stranger.close()
    assert code_from(refused.headers["location"])["error"] == "login_required"

    listed = read(identity_rig, service_id, "sign-ins")["sign_ins"]
    assert [(s["client_id"], s["level"], s["proving"]) for s in listed] == [
        (rp.client_id, "Cl.Cm", None),
        (rp.client_id, "Cl", None),
    ]
    assert {s["subject_hint"] for s in listed} == {sub.removeprefix("urn:fdc:gov.uk:2022:")[:8]}
    assert abs(datetime.fromisoformat(listed[0]["time"]) - datetime.now(UTC)).total_seconds() < 120
    assert set(listed[0]) == {"time", "client_id", "level", "proving", "subject_hint"}  # no email, no full sub
    assert person.email not in str(listed) and sub not in str(listed)
    assert len(read(identity_rig, service_id, "sign-ins", limit=1)["sign_ins"]) == 1
    counted = today(identity_rig, service_id)
    assert counted["levels"] == {"Cl": 1, "Cl.Cm": 1, "Cl.Cm.P1": 0, "Cl.Cm.P2": 0}
    assert counted["proving"] == {"proved": 0, "reused": 0, "failed": 0}


def test_identity_proving_is_recorded_as_proved_reused_or_failed(identity_rig: IdentityRig, person: Person) -> None:
    rp, service_id = relying_party(
        identity_rig, ClientLoCs=["P0", "P1", "P2"], IdentityVerificationSupported=True, Claims=ALL_CLAIMS
    )
    proven = identity_rig.browser()
    failing = identity_rig.browser()
    try:
        proven.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE))
        proven.sign_in(person)
        assert prove(proven, SANDBOX["S1"]).status_code == 302
        again = proven.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE))  # the stored identity, reused
        assert again.status_code == 302 and "code" in code_from(again.headers["location"])

        failing.authorize(rp, vtr='["Cl.Cm.P2"]', claims=claims(CORE, RETURN_CODE))
        failing.sign_in(identity_rig.person())
        ended = prove(failing, SANDBOX["S3"])  # a thin file: return code "A", and a code for the client
        assert ended.status_code == 302 and "code" in code_from(ended.headers["location"])
    finally:
        proven.close()
        failing.close()

    listed = read(identity_rig, service_id, "sign-ins")["sign_ins"]
    assert [(s["level"], s["proving"]) for s in listed] == [
        ("Cl.Cm", "failed"),
        ("Cl.Cm.P2", "reused"),
        ("Cl.Cm.P2", "proved"),
    ]
    counted = today(identity_rig, service_id)
    assert counted["levels"] == {"Cl": 0, "Cl.Cm": 1, "Cl.Cm.P1": 0, "Cl.Cm.P2": 2}
    assert counted["proving"] == {"proved": 1, "reused": 1, "failed": 1}


async def _seed(rig: IdentityRig, service_id: uuid.UUID) -> None:
    rows = [
        ("2026-02-28T23:59:59+00:00", "Cl.Cm", None, None),  # the day before
        ("2026-03-01T00:00:00+00:00", "Cl.Cm", None, None),
        ("2026-03-01T09:00:00+00:00", "Cl", None, None),
        ("2026-03-01T10:00:00+00:00", "Cl.Cm", "P2", "proved"),
        ("2026-03-01T11:00:00+00:00", "Cl.Cm", "P2", "reused"),
        ("2026-03-01T12:00:00+00:00", "Cl.Cm", None, "failed"),
        ("2026-03-03T00:30:00+01:00", "Cl.Cm", "P1", "proved"),  # 23:30 UTC on the 2nd
        ("2026-03-05T08:00:00+00:00", "Cl.Cm", "P3", "reused"),
        ("2026-03-07T23:59:59+00:00", "Cl", None, None),
        ("2026-03-08T00:00:00+00:00", "Cl", None, None),  # the day after
    ]
    db = rig.db()
    try:
        async with db.write_session() as session:
            for created, credential, identity, proving in rows:
                session.add(
                    SignIn(
                        service_id=service_id,
                        client_id="seeded",
                        credential=credential,
                        identity=identity,
                        proving=proving,
                        subject_hint="abcdefgh",
                        created_at=datetime.fromisoformat(created),
                    )
                )
            session.add(
                SignIn(
                    service_id=uuid.uuid4(),
                    client_id="another service's",
                    credential="Cl",
                    subject_hint="abcdefgh",
                    created_at=datetime.fromisoformat("2026-03-02T12:00:00+00:00"),
                )
            )
    finally:
        await db.dispose()


def test_sign_ins_are_counted_per_utc_day_by_level_and_proving(identity_rig: IdentityRig) -> None:
    service_id = uuid.uuid4()
    asyncio.run(_seed(identity_rig, service_id))
    body = read(identity_rig, service_id, "usage", **WEEK)
    assert (body["from"], body["to"]) == ("2026-03-01", "2026-03-07")
    days = {day["date"]: day for day in body["days"]}
    assert list(days) == [f"2026-03-0{n}" for n in range(1, 8)]
    assert days["2026-03-01"]["levels"] == {"Cl": 1, "Cl.Cm": 2, "Cl.Cm.P1": 0, "Cl.Cm.P2": 2}
    assert days["2026-03-01"]["proving"] == {"proved": 1, "reused": 1, "failed": 1}
    assert days["2026-03-02"]["levels"]["Cl.Cm.P1"] == 1 and days["2026-03-02"]["levels"]["Cl"] == 0
    assert days["2026-03-05"]["levels"]["Cl.Cm.P3"] == 1  # a level beyond the usual ones appears when seen
    assert days["2026-03-07"]["levels"]["Cl"] == 1
    assert days["2026-03-04"] == {
        "date": "2026-03-04",
        "levels": {"Cl": 0, "Cl.Cm": 0, "Cl.Cm.P1": 0, "Cl.Cm.P2": 0},
        "proving": {"proved": 0, "reused": 0, "failed": 0},
    }
    assert sum(sum(day["levels"].values()) for day in body["days"]) == 8


@pytest.mark.parametrize(
    ("what", "params", "message"),
    [
        ("usage", {"from": "2026-03-07", "to": "2026-03-01"}, "The range ends before it starts"),
        ("usage", {"from": "2026-01-01", "to": "2026-12-31"}, "The range is longer than 93 days"),
        ("usage", {"from": "2026-03-01"}, "to"),
        ("sign-ins", {"limit": "0"}, "limit"),
        ("sign-ins", {"limit": "201"}, "limit"),
    ],
)
def test_a_bad_query_is_a_platform_400(
    identity_rig: IdentityRig, what: str, params: dict[str, str], message: str
) -> None:
    service_id = identity_rig.service_id
    with internal(identity_rig, service_id) as api:
        answer = api.get(f"/internal/services/{service_id}/{what}", params=params)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"error", "message", "request_id"} and message in body["message"]


@pytest.mark.parametrize("what", ["usage", "sign-ins"])
def test_only_the_gateway_for_that_service_may_ask(identity_rig: IdentityRig, what: str) -> None:
    service_id = identity_rig.service_id
    path = f"/internal/services/{service_id}/{what}"
    with internal(identity_rig, service_id, scopes=frozenset({"identity"})) as api:
        assert api.get(path, params=WEEK).json()["error"] == "NotInternal"
    with internal(identity_rig, uuid.uuid4()) as api:
        assert api.get(path, params=WEEK).json()["error"] == "WrongService"
    assert httpx.get(identity_rig.identity_url + path, params=WEEK).status_code == 401
    assert httpx.get(identity_rig.gateway_url + path, params=WEEK).status_code == 404

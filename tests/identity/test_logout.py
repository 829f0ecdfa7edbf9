"""RP-initiated logout and back-channel logout from the outbox (spec §7.3, §7.4)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gaap.jobs import JobQueue
from services.identity.logout.models import FAILED, SENT, BackChannelLogout
from services.identity.logout.tasks import open_resources, send_backchannel_logout
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty
from tests.identity.test_code_flow import exchange, signed_in_code
from tests.support import serve_in_thread


@pytest.fixture
def rp_backchannel() -> Iterator[tuple[str, dict[str, Any]]]:
    """The RP's back-channel logout endpoint: records the tokens, answers with the status a test sets."""
    state: dict[str, Any] = {"tokens": [], "status": 200}

    async def receive(request: Request) -> Response:
        state["tokens"].append((await request.form())["logout_token"])
        return Response(status_code=state["status"])

    with serve_in_thread(Starlette(routes=[Route("/logout", receive, methods=["POST"])])) as url:
        yield url + "/logout", state


def outbox(rig: IdentityRig, client_id: str) -> list[tuple[str, int, str]]:
    async def read() -> list[tuple[str, int, str]]:
        db = rig.db()
        try:
            async with db.read_session() as session:
                rows = await session.execute(select(BackChannelLogout).where(BackChannelLogout.client_id == client_id))
                return [(str(r.id), r.attempt, r.status) for r in rows.scalars()]
        finally:
            await db.dispose()

    return asyncio.run(read())


def deliver(rig: IdentityRig, ident: str) -> None:
    """Run the worker's handler once for a row, as the identity worker would."""

    async def run() -> None:
        ctx: dict[str, Any] = {
            "db": rig.db(),
            "settings": rig.settings,
            "jobs": JobQueue.from_url(rig.redis_url, "identity"),
        }
        await open_resources(ctx, rig.settings)
        try:
            await send_backchannel_logout(ctx, ident)
        finally:
            await ctx["http"].aclose()
            await ctx["jobs"].close()
            await ctx["db"].dispose()

    asyncio.run(run())


def test_rp_initiated_logout_with_back_channel(
    identity_rig: IdentityRig, person: Person, browser: Browser, rp_backchannel: tuple[str, dict[str, Any]]
) -> None:
    url, state = rp_backchannel
    rp = identity_rig.rp(BackChannelLogoutUri=url)
    tokens = exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"]).json()
    jwks = httpx.get(identity_rig.gateway_url + "/.well-known/jwks.json").json()
    sub = rp.verify_id_token(tokens["id_token"], jwks)["sub"]
    answer = browser.get(
        "/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://rp.example.test/signed-out",
            "state": "bye",
        },
    )
    assert answer.status_code == 302  # no confirmation page
    assert answer.headers["location"] == "https://rp.example.test/signed-out?state=bye"
    # The session has ended: the next request needs a sign-in.
    assert browser.authorize(rp).status_code == 200
    rows = outbox(identity_rig, rp.client_id)
    assert len(rows) == 1
    deliver(identity_rig, rows[0][0])
    assert outbox(identity_rig, rp.client_id)[0][2] == SENT
    token = state["tokens"][0]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience=rp.client_id,
                        issuer=identity_rig.issuer)  # fmt: skip
    assert claims["sub"] == sub
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims and "sid" not in claims
    assert claims["exp"] - claims["iat"] == 120


def test_logout_without_a_valid_hint_shows_the_signed_out_page(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser
) -> None:
    signed_in_code(browser, rp, person)
    answer = browser.get("/logout", params={"post_logout_redirect_uri": "https://rp.example.test/signed-out"})
    assert answer.status_code == 200
    assert "You have signed out" in answer.text
    assert browser.authorize(rp).status_code == 200


def test_back_channel_retries_then_gives_up(
    identity_rig: IdentityRig, person: Person, browser: Browser, rp_backchannel: tuple[str, dict[str, Any]]
) -> None:
    url, state = rp_backchannel
    state["status"] = 500
    rp = identity_rig.rp(BackChannelLogoutUri=url)
    exchange(identity_rig, rp, signed_in_code(browser, rp, person)["code"])
    signed_out = browser.submit("/identity/account", action="/identity/sign-out")  # the account page's sign-out form
    assert signed_out.headers["location"] == "/identity/signed-out"
    ident = outbox(identity_rig, rp.client_id)[0][0]

    async def make_due() -> None:
        from sqlalchemy import update

        from gaap.db.base import utcnow

        db = identity_rig.db()
        try:
            async with db.write_session() as session:
                await session.execute(
                    update(BackChannelLogout).where(BackChannelLogout.id == ident).values(next_attempt_at=utcnow())
                )
        finally:
            await db.dispose()

    for _ in range(4):
        asyncio.run(make_due())
        deliver(identity_rig, ident)
    assert outbox(identity_rig, rp.client_id)[0][1:] == (4, FAILED)
    assert len(state["tokens"]) == 4
    assert len(set(state["tokens"])) == 4  # a fresh token for each attempt

"""Each client's own limits at `/token` and `/userinfo` (spec §9.4): counted only once the client is known, so a
request that fails client authentication spends nothing, and a refused `/token` leaves its code to be redeemed
after `Retry-After`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from gaap.ratelimit import Limit
from services.identity.oidc.limits import TOKEN, USERINFO, ClientLimits
from tests.identity.conftest import IdentityRig
from tests.identity.support import Browser, Person, RelyingParty, code_from

pytestmark = pytest.mark.parametrize("identity_rig", ["postgresql"], indirect=True)


@pytest.fixture
def one_a_minute(identity_rig: IdentityRig) -> Iterator[ClientLimits]:
    """The running app's limits, cut to one request a minute per client for the test."""
    limits: ClientLimits = identity_rig.app.state.identity.limits
    kept = dict(limits.limits)
    limits.limits.update({TOKEN: Limit(1, 60, 1), USERINFO: Limit(1, 60, 1)})
    yield limits
    limits.limits.update(kept)


def signed_in_code(browser: Browser, rp: RelyingParty, person: Person) -> str:
    answer = browser.authorize(rp)
    if answer.status_code != 302:
        answer = browser.sign_in(person)
    return code_from(answer.headers["location"])["code"]


def test_each_client_is_limited_once_it_is_known(
    identity_rig: IdentityRig, rp: RelyingParty, person: Person, browser: Browser, one_a_minute: ClientLimits
) -> None:
    token_url, userinfo_url = identity_rig.gateway_url + "/token", identity_rig.gateway_url + "/userinfo"
    first = signed_in_code(browser, rp, person)
    forged = rp.token_form(first, client_assertion=rp.assertion(iss="someone-else"))
    assert httpx.post(token_url, data=forged).json()["error"] == "invalid_client"  # spends nothing
    issued = httpx.post(token_url, data=rp.token_form(first))
    assert issued.status_code == 200, issued.text
    second = signed_in_code(browser, rp, person)
    refused = httpx.post(token_url, data=rp.token_form(second))
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "temporarily_unavailable",
        "error_description": "Too many requests, try again later",
        "error_uri": identity_rig.issuer + "identity/documentation#temporarily_unavailable",
    }
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["cache-control"] == "no-store"
    other = identity_rig.rp()  # another client's share is its own
    assert httpx.post(token_url, data=other.token_form(signed_in_code(browser, other, person))).status_code == 200

    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert httpx.get(userinfo_url, headers=bearer).status_code == 200
    assert httpx.get(userinfo_url, headers=bearer).status_code == 429

    with redis.Redis.from_url(identity_rig.redis_url) as store:  # as if Retry-After had passed
        assert store.delete(f"gaap:identity:rl:{TOKEN}:{rp.client_id}") == 1
    later = httpx.post(token_url, data=rp.token_form(second))  # the refused code was not spent
    assert later.status_code == 200, later.text

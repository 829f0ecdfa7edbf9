"""One-time `next_url` tokens and the payer's `pay_session` (pay spec §13.2): the exchange, the cookie, reuse only by
the session that used a token, up to 10 payments per session, and every `/card_details` route needing the payment
in the session."""

# ruff: noqa: ASYNC212  (pay serves from its own thread: a blocking call holds up nothing it needs)

from __future__ import annotations

import base64
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gaap.db.engine import Database
from services.pay.pages.session import MAX_PAYMENTS, PaySession, SessionCodec
from services.pay.payments.models import NextUrlToken
from services.pay.payments.tokens import token_hash
from tests.pay.conftest import PayRig, new_payment
from tests.pay.pages.payer import BrowserFactory, PayerBrowser, path_of

SESSION_EXPIRED = "Your payment session has expired"


def token_of(payment: dict[str, Any]) -> str:
    token: str = payment["_links"]["next_url_post"]["params"]["chargeTokenId"]
    return token


def test_the_codec_seals_and_refuses_anything_else() -> None:
    codec = SessionCodec(b"a secret of sixteen bytes or more", max_age=60)
    session = PaySession.new().with_payment("a" * 26)
    sealed = codec.seal(session)
    assert codec.open(sealed) == session
    assert "a" * 26 not in base64.urlsafe_b64decode(sealed + "==").decode("latin-1")  # encrypted, not just signed
    assert codec.open(sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]) is None
    assert codec.open(sealed[:20]) is None
    assert codec.open("not base64 at all!") is None
    assert SessionCodec(b"another secret of sixteen bytes", max_age=60).open(sealed) is None


def test_a_session_keeps_the_newest_ten_payments() -> None:
    session = PaySession.new()
    for number in range(12):
        session = session.with_payment(f"{number:026d}")
    assert len(session.payments) == MAX_PAYMENTS
    assert not session.holds(f"{0:026d}") and not session.holds(f"{1:026d}") and session.holds(f"{11:026d}")
    again = session.with_payment(f"{5:026d}")
    assert again.payments[-1] == f"{5:026d}" and len(again.payments) == MAX_PAYMENTS


async def test_the_exchange_starts_the_payment_and_sets_the_session_cookie(
    api: httpx.Client, payer: PayerBrowser, pay_db: Database
) -> None:
    payment = new_payment(api)
    response = payer.get(f"/secure/{token_of(payment)}")

    assert response.status_code == 303
    assert response.headers["location"] == f"/card_details/{payment['payment_id']}"
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    morsel = cookie["pay_session"]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"].lower() == "lax" and morsel["path"] == "/"
    assert payment["payment_id"] not in morsel.value
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"] == {"status": "started", "finished": False}

    async with pay_db.read_session() as session:
        rows = await session.execute(
            select(NextUrlToken.token_hash, NextUrlToken.used_by).where(
                NextUrlToken.payment_id == payment["payment_id"], NextUrlToken.used.is_(True)
            )
        )
        used = rows.all()
    assert len(used) == 1 and used[0].token_hash == token_hash(token_of(payment))
    assert used[0].used_by is not None and len(used[0].used_by) == 64  # a hash of the session ID, never the ID


def test_next_url_post_exchanges_the_token_without_csrf(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    response = payer.post("/secure", {"chargeTokenId": token_of(payment)}, csrf=False)
    assert response.status_code == 303 and path_of(response) == f"/card_details/{payment['payment_id']}"
    assert payer.follow(response).status_code == 200


@pytest.mark.parametrize("path", ["/secure/0123456789abcdefghijklmnop", "/secure/x"])
def test_an_unknown_token_is_the_not_found_page(payer: PayerBrowser, path: str) -> None:
    response = payer.get(path)
    assert response.status_code == 404 and "Page not found" in response.text
    assert "pay_session" not in payer.cookies


def test_posting_no_token_is_the_not_found_page(payer: PayerBrowser) -> None:
    assert payer.post("/secure", {}, csrf=False).status_code == 404


def test_a_used_token_works_again_for_the_session_that_used_it(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    url = payment["_links"]["next_url"]["href"]
    assert payer.get(url).status_code == 303
    again = payer.get(url)  # refresh, back button
    assert again.status_code == 303 and path_of(again) == f"/card_details/{payment['payment_id']}"


def test_a_used_token_is_an_expired_link_for_any_other_browser(
    pay_rig: PayRig, api: httpx.Client, browser_factory: BrowserFactory
) -> None:
    payment = new_payment(api, language="cy")
    first, second, third = browser_factory(), browser_factory(), browser_factory()
    assert first.get(payment["_links"]["next_url"]["href"]).status_code == 303

    fresh = second.get(payment["_links"]["next_url"]["href"])
    assert fresh.status_code == 400
    assert 'lang="cy"' in fresh.text and "Daeth eich sesiwn taliad i ben" in fresh.text
    assert "pay_session" not in second.cookies

    other = new_payment(api)
    third.open(other)  # a session of its own, holding another payment
    refused = third.get(payment["_links"]["next_url"]["href"])
    assert refused.status_code == 400
    assert third.get(f"/card_details/{payment['payment_id']}").status_code == 403


def test_every_read_gives_a_new_token_and_each_joins_the_same_session(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    later = api.get(f"/v1/payments/{payment['payment_id']}").json()
    assert token_of(later) != token_of(payment)
    session_before = payer.cookies["pay_session"]
    response = payer.get(later["_links"]["next_url"]["href"])
    assert response.status_code == 303 and path_of(response) == f"/card_details/{payment['payment_id']}"
    assert payer.cookies["pay_session"] != session_before  # re-sealed, same session
    assert payer.get(f"/card_details/{payment['payment_id']}").status_code == 200


def test_one_session_holds_the_ten_newest_payments(api: httpx.Client, payer: PayerBrowser) -> None:
    payments = [new_payment(api) for _ in range(MAX_PAYMENTS + 1)]
    for payment in payments:
        assert payer.open(payment).status_code == 200
    oldest = payer.get(f"/card_details/{payments[0]['payment_id']}")
    assert oldest.status_code == 403 and SESSION_EXPIRED in oldest.text
    for payment in payments[1:]:
        assert payer.get(f"/card_details/{payment['payment_id']}").status_code == 200


@pytest.mark.parametrize(
    "page",
    ["", "/auth_waiting", "/capture_waiting", "/3ds_required", "/confirm"],
)
def test_every_page_needs_the_payment_in_the_session(
    api: httpx.Client, browser_factory: BrowserFactory, page: str
) -> None:
    payment = new_payment(api)
    owner, stranger = browser_factory(), browser_factory()
    owner.open(payment)
    stranger.open(new_payment(api))
    for browser in (stranger, browser_factory()):
        response = browser.get(f"/card_details/{payment['payment_id']}{page}")
        assert response.status_code == 403 and SESSION_EXPIRED in response.text
        assert "Pay tests" not in response.text  # the service's name is not shown either


@pytest.mark.parametrize("page", ["", "/cancel", "/confirm", "/3ds_handler"])
def test_every_form_needs_the_payment_in_the_session(
    api: httpx.Client, browser_factory: BrowserFactory, page: str
) -> None:
    payment = new_payment(api)
    owner, stranger = browser_factory(), browser_factory()
    owner.open(payment)
    stranger.open(new_payment(api))
    response = stranger.post(f"/card_details/{payment['payment_id']}{page}", {})
    assert response.status_code == 403 and SESSION_EXPIRED in response.text
    assert api.get(f"/v1/payments/{payment['payment_id']}").json()["state"]["status"] == "started"


def test_return_and_check_card_need_the_session_too(api: httpx.Client, browser_factory: BrowserFactory) -> None:
    payment = new_payment(api)
    browser_factory().open(payment)
    stranger = browser_factory()
    assert stranger.get(f"/return/{payment['payment_id']}").status_code == 403
    assert stranger.request("POST", f"/check_card/{payment['payment_id']}", data={"cardNo": "4444"}).status_code == 403


def test_a_tampered_session_cookie_is_no_session(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api)
    payer.open(payment)
    value = payer.cookies["pay_session"]
    payer.cookies["pay_session"] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    assert payer.get(f"/card_details/{payment['payment_id']}").status_code == 403


@pytest.mark.parametrize("payment_id", ["nope", "0" * 26, "Z" * 26])
def test_an_unknown_payment_is_not_found(payer: PayerBrowser, payment_id: str) -> None:
    response = payer.get(f"/card_details/{payment_id}")
    assert response.status_code == 404 and "Page not found" in response.text


def test_moto_payments_have_no_pages(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api, authorisation_mode="moto_api", return_url=None)
    assert payer.get(f"/card_details/{payment['payment_id']}").status_code == 404


async def test_a_token_exchanged_once_cannot_be_won_twice(pay_db: Database, api: httpx.Client) -> None:
    """The conditional UPDATE behind the exchange: a second use of an unused-looking token changes nothing."""
    from services.pay.payments import repository as repo

    payment = new_payment(api)
    digest = token_hash(token_of(payment))
    async with pay_db.write_session() as session:
        assert await repo.use_next_url_token(session, digest, "a" * 64)
        assert not await repo.use_next_url_token(session, digest, "b" * 64)
    async with pay_db.read_session() as session:
        row = await session.get(NextUrlToken, digest)
        assert row is not None and row.used_by == "a" * 64

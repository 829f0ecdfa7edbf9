"""A citizen paying through a payment link (pay spec §15 B4), with a browser's cookies and forms and no
JavaScript: the link's form with its prefills and GOV.UK-style errors, a card number refused as a reference (on
the page and, as 400 P0105, on the create path), the ordinary card pages, the confirmation page, and the payment
as the service sees it in search; archived and unknown links; CSRF; Welsh."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx
import pytest

from gaap.db.engine import Database
from services.pay.auth import account_of
from services.pay.errors import PayError
from services.pay.links import journey
from services.pay.payments.validation import validate_create
from tests.pay.conftest import PayRig
from tests.pay.links.conftest import LinksApi, address
from tests.pay.pages.payer import BrowserFactory, PayerBrowser, card_form, path_of

CARD = "4444333322221111"


def _values(page: httpx.Response) -> dict[str, str]:
    """The form's text inputs, by name, as the payer sees them."""
    values = {}
    for tag in re.findall(r"<input\b[^>]*>", page.text):
        name, value = re.search(r'name="(\w+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and 'type="text"' in tag:
            values[name.group(1)] = html.unescape(value.group(1))
    return values


def _search(api: httpx.Client, reference: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = api.get("/v1/payments", params={"reference": reference}).json()["results"]
    return results


def _payment_id(card_page: httpx.Response) -> str:
    found = re.search(r'action="/card_details/(\w+)"', card_page.text)
    assert found is not None, card_page.text[:500]
    return found.group(1)


def _pay_card(payer: PayerBrowser, card_page: httpx.Response) -> httpx.Response:
    """From the card page to the link's confirmation page, with the success card."""
    page = payer.follow(card_page)
    assert "Enter card details" in page.text, page.text[:500]
    payment_id = _payment_id(page)
    confirm = payer.follow(payer.post(f"/card_details/{payment_id}", card_form(CARD)))
    assert "Confirm your payment" in confirm.text
    back = payer.post(f"/card_details/{payment_id}/confirm")
    assert path_of(back) == f"/return/{payment_id}"
    return payer.follow(back)


def test_a_citizen_pays_a_fixed_amount_link(links: LinksApi, payer: PayerBrowser, api: httpx.Client) -> None:
    link = links.link(title="Pay for a parking permit", description="Parking permit", metadata={"ledger": "PK"})
    page = payer.get(address(link))
    assert page.status_code == 200 and '<h1 class="govuk-heading-l">Pay for a parking permit</h1>' in page.text
    assert "Parking permit" in page.text and "£12.00" in page.text and "This is a test payment" in page.text
    assert 'name="amount"' not in page.text and 'name="reference"' not in page.text
    assert "pay_session" in payer.cookies

    started = payer.post(address(link))
    assert started.status_code == 303 and path_of(started).startswith("/secure/")
    done = _pay_card(payer, started)
    assert done.status_code == 200 and "Your payment was successful" in done.text
    reference = re.search(r"Your payment reference number is<br><strong>([A-Z0-9-]+)</strong>", done.text)
    assert reference is not None and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", reference.group(1))

    found = _search(api, reference.group(1))
    assert len(found) == 1
    payment = found[0]
    assert payment["description"] == "Parking permit" and payment["amount"] == 1200
    assert payment["state"]["status"] == "success" and payment["language"] == "en"
    assert payment["metadata"] == {"ledger": "PK"}
    assert payment["return_url"].startswith(f"{links.rig.gateway_url}{address(link)}/complete/")
    events = api.get(f"/v1/payments/{payment['payment_id']}/events").json()["events"]
    assert [e["state"]["status"] for e in events] == ["created", "started", "submitted", "success"]


def test_the_payer_enters_reference_and_amount_with_prefills(
    links: LinksApi, payer: PayerBrowser, api: httpx.Client
) -> None:
    link = links.link(
        amount=None, min_amount=500, max_amount=500000, reference_label="Invoice number", reference_hint="On your bill"
    )
    page = payer.get(address(link), params={"reference": "INV-77", "amount": "1250"})
    assert page.status_code == 200 and _values(page) == {"reference": "INV-77", "amount": "12.50"}
    assert "Invoice number" in page.text and "On your bill" in page.text
    assert "Enter an amount from £5.00 to £5,000.00" in page.text and "There is a problem" not in page.text

    cases = [
        ({"reference": "", "amount": ""}, ["Enter a reference", "Enter an amount"]),
        (
            {"reference": "A|B", "amount": "12.345"},
            ["The reference must not include &lt; &gt; or |", journey.AMOUNT_FORMAT],
        ),
        (
            {"reference": "R" * 256, "amount": "4.99"},
            ["The reference must be 255 characters or fewer", "Enter an amount of at least £5.00"],
        ),
        ({"reference": "INV-1", "amount": "£5,000.01"}, ["Enter an amount of no more than £5,000.00"]),
    ]
    for form, messages in cases:
        refused = payer.post(address(link), form)
        assert refused.status_code == 200 and "<title>Error: " in refused.text, form
        for message in messages:
            assert message in refused.text, (form, message)
        assert 'class="govuk-error-summary"' in refused.text

    reference = f"INV-{uuid.uuid4().hex[:8]}"
    started = payer.post(address(link), {"reference": reference, "amount": "£1,234.5"})
    assert started.status_code == 303
    done = _pay_card(payer, started)
    assert "Your payment was successful" in done.text and reference in done.text and "£1,234.50" in done.text
    [payment] = _search(api, reference)
    assert payment["amount"] == 123450 and payment["description"] == "Parking permit"


def test_bad_prefills_are_explained(links: LinksApi, payer: PayerBrowser) -> None:
    link = links.link(amount=None, max_amount=1000, reference_label="Case number")
    for query, message in [
        ({"amount": "lots"}, journey.AMOUNT_FORMAT),
        ({"amount": "100001"}, "Enter an amount of no more than £10.00"),
        ({"amount": "0"}, "Enter an amount of at least £0.01"),
    ]:
        page = payer.get(address(link), params=query)
        assert page.status_code == 200 and message in page.text, query
        assert "Enter a reference" not in page.text  # only what was given is checked
    fixed = links.link()
    assert "12.00" in payer.get(address(fixed), params={"amount": "5", "reference": "X"}).text


def test_a_card_number_is_never_taken_as_a_reference(
    links: LinksApi, payer: PayerBrowser, api: httpx.Client, pay_db: Database
) -> None:
    link = links.link(reference_label="Your reference")
    for typed in (CARD, "4444 3333 2222 1111", "ref 4444-3333-2222-1111"):
        prefilled = payer.get(address(link), params={"reference": typed})
        assert journey.REFERENCE_CARD_NUMBER in prefilled.text
        assert "1111" not in _values(prefilled).get("reference", "") and "4444 3333" not in prefilled.text
        refused = payer.post(address(link), {"reference": typed})
        assert refused.status_code == 200 and journey.REFERENCE_CARD_NUMBER in refused.text
        assert CARD not in refused.text and "4444 3333" not in refused.text and "4444-3333" not in refused.text
    assert _search(api, CARD) == []
    # Not a card number: fails Luhn. (Not one of tests/pay/moto/test_card_data.py's numbers, which it looks for in
    # the whole shared database: this reference is stored.)
    assert payer.post(address(link), {"reference": "4444333322221113"}).status_code == 303


async def test_the_create_path_answers_p0105(pay_rig: PayRig, pay_db: Database) -> None:
    account = await account_of(pay_db, pay_rig.main.service_id, "test")
    body = {"amount": 100, "reference": "4444333322221111", "description": "D", "return_url": "https://x.gov.uk/"}
    with pytest.raises(PayError) as refused:
        validate_create(body, account, from_link=True)
    assert (refused.value.status_code, refused.value.code) == (400, "P0105")
    assert refused.value.message == "Card number entered in a payment link reference"
    assert refused.value.extra == {"field": "reference"}
    assert validate_create(body, account).reference == body["reference"]  # the API's own payments are not links


def test_archived_and_unknown_links(links: LinksApi, payer: PayerBrowser) -> None:
    link = links.link()
    payer.get(address(link))
    links.client.post(links.path(link_id=link["id"]) + "/archive")
    gone = payer.get(address(link))
    assert gone.status_code == 410 and "This link is no longer available" in gone.text
    assert "<form" not in gone.text.split("<main", 1)[1]
    posted = payer.post(address(link), {})
    assert posted.status_code == 410 and "This link is no longer available" in posted.text
    for path in (f"/link/{link['service_slug']}/nothing-here", "/link/NOT_A_SLUG/x", "/link/a/b/c/d"):
        missing = payer.get(path)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html"), path


def test_forms_need_the_sessions_csrf_token(links: LinksApi, browser_factory: BrowserFactory) -> None:
    link = links.link()
    payer = browser_factory()
    payer.get(address(link))
    assert payer.post(address(link), {}, csrf=False).status_code == 403
    stranger = browser_factory()
    stranger.get(address(link))
    assert stranger.post(address(link), {"csrf_token": payer.csrf()}, csrf=False).status_code == 403
    assert payer.post(address(link)).status_code == 303


def test_the_confirmation_page_is_for_the_payer_only(
    links: LinksApi, browser_factory: BrowserFactory, api: httpx.Client
) -> None:
    link = links.link()
    payer = browser_factory()
    payer.get(address(link))
    started = payer.post(address(link))
    card_page = payer.follow(started)
    payment_id = _payment_id(card_page)
    return_url = api.get(f"/v1/payments/{payment_id}").json()["return_url"]
    complete = return_url.split(links.rig.gateway_url, 1)[1]

    # Not finished yet: back to the payment's own page.
    early = payer.get(complete)
    assert early.status_code == 303 and path_of(early) == f"/card_details/{payment_id}"
    stranger = browser_factory()
    refused = stranger.get(complete)
    assert refused.status_code == 403 and "Your payment session has expired" in refused.text
    assert stranger.get(complete.rsplit("/", 1)[0] + "/" + "0" * 26).status_code == 404
    other = links.link()
    assert payer.get(complete.replace(address(link), address(other))).status_code == 404

    # The payer cancels: not paid, with a way to try again.
    cancelled = payer.follow(payer.post(f"/card_details/{payment_id}/cancel"))
    assert "Your payment has been cancelled" in cancelled.text
    after = payer.follow(payer.get(f"/return/{payment_id}"))
    assert after.status_code == 200 and "Your payment has not been made" in after.text
    assert f'href="{address(link)}"' in after.text


def test_a_welsh_link_speaks_welsh(links: LinksApi, payer: PayerBrowser) -> None:
    link = links.link(language="cy", amount=None, reference_label="Rhif yr anfoneb")
    page = payer.get(address(link))
    assert '<html lang="cy"' in page.text and "Swm y taliad" in page.text and "Mynd ati i dalu" in page.text
    refused = payer.post(address(link), {"reference": CARD, "amount": "x"})
    assert "Peidiwch â rhoi rhif cerdyn yn y cyfeirnod" in refused.text and "Rhowch swm mewn punnoedd" in refused.text
    started = payer.post(address(link), {"reference": "ANF-1", "amount": "3"})
    assert "Rhowch fanylion" in payer.follow(started).text or "Rhif cerdyn" in payer.follow(started).text

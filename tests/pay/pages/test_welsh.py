"""Welsh (pay spec §13.7): a `cy` payment's every page is Welsh, errors and titles included, whatever the browser
asks for; every message the pages use has a Welsh translation; the country list is pycountry's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gaap.pages import missing_translations
from gaap.pages.i18n import Catalogues
from services.pay.pages import countries
from services.pay.pages.validation import CODE_MESSAGES, FIELD_MESSAGES
from tests.pay.conftest import new_payment
from tests.pay.pages.payer import DECLINED_CARD, THREE_DS_CARD, BrowserFactory, PayerBrowser, card_form

PAGES = Path(__file__).resolve().parents[3] / "services" / "pay" / "pages"
#: Message ids used from Python rather than from a template, which the extractor cannot see.
PYTHON_MESSAGES = {*FIELD_MESSAGES.values(), *CODE_MESSAGES.values()}


def test_every_template_message_has_a_welsh_translation() -> None:
    assert missing_translations([PAGES / "templates"], [PAGES / "locale"], "cy") == []


def test_every_message_used_from_python_has_a_welsh_translation() -> None:
    welsh = Catalogues([PAGES / "locale"]).translations("cy")
    assert [m for m in sorted(PYTHON_MESSAGES) if welsh.gettext(m) == m] == []


def test_no_welsh_string_is_marked_fuzzy() -> None:
    assert "#, fuzzy" not in (PAGES / "locale" / "cy" / "LC_MESSAGES" / "messages.po").read_text()


def test_the_country_list_is_the_one_pycountry_gives() -> None:
    pytest.importorskip("pycountry")
    assert countries.DATA.read_text(encoding="utf-8") == countries.render(countries.build())
    assert countries.countries()["GB"].name("cy") == "Y Deyrnas Unedig"


def test_a_welsh_payment_is_welsh_on_every_page(api: httpx.Client, payer: PayerBrowser) -> None:
    payment = new_payment(api, language="cy")
    page = payer.open(payment)
    assert '<html lang="cy"' in page.text and page.headers["content-language"] == "cy"
    assert "Rhowch fanylion y cerdyn" in page.text and "Parhau" in page.text and "Canslo’r taliad" in page.text
    assert "Y Deyrnas Unedig" in page.text
    assert payer.get(f"/card_details/{payment['payment_id']}?lang=en").headers["content-language"] == "cy"

    errors = payer.post(f"/card_details/{payment['payment_id']}", card_form("4444333322221112", cvc="1"))
    assert "<title>Gwall: Rhowch fanylion y cerdyn" in errors.text
    assert "Rhowch rif cerdyn dilys" in errors.text and "Rhowch god diogelwch cerdyn dilys" in errors.text

    bank = payer.follow(payer.post(f"/card_details/{payment['payment_id']}", card_form(THREE_DS_CARD)))
    assert "Banc prawf" in bank.text and '<html lang="cy"' in bank.text
    confirm = payer.follow(
        payer.post(f"/card_details/{payment['payment_id']}/3ds_handler", {"outcome": "authenticate"})
    )
    assert "Cadarnhau eich taliad" in confirm.text and "Cadarnhau’r taliad" in confirm.text


def test_welsh_outcome_and_session_pages(api: httpx.Client, browser_factory: BrowserFactory) -> None:
    payment = new_payment(api, language="cy")
    payer = browser_factory()
    payer.open(payment)
    declined = payer.follow(payer.post(f"/card_details/{payment['payment_id']}", card_form(DECLINED_CARD)))
    assert "Mae eich taliad wedi cael ei wrthod" in declined.text

    stranger = browser_factory()
    expired = stranger.get(f"/card_details/{payment['payment_id']}")
    assert expired.status_code == 403 and "Daeth eich sesiwn taliad i ben" in expired.text
    assert '<html lang="cy"' in expired.text

    forged = payer.request("POST", f"/card_details/{payment['payment_id']}/cancel", data={"csrf_token": "x"})
    assert forged.status_code == 403 and '<html lang="cy"' in forged.text

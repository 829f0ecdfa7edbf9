"""The card page's country select is rendered once per (language, selected country, error message) and kept
(`PayPages.country_select`): it must be exactly what GOV.UK Frontend's `govukSelect` macro renders in place, in
both languages, with and without an error. The page templates are compiled at start-up (`PayPages.warm`)."""

from __future__ import annotations

import re

import pytest

from services.pay.pages.countries import choices
from services.pay.pages.rendering import PayPages
from services.pay.pages.session import SessionCodec

#: What card_details.html rendered in place before the select was kept.
IN_PLACE = """
{% from "govuk_frontend_jinja/components/select/macro.html" import govukSelect %}
{% set country_items = [] %}
{% for code, name in countries %}{% if country_items.append({"value": code, "text": name}) %}{% endif %}{% endfor %}
{{ govukSelect({
  "label": {"text": _("Country or territory")},
  "id": "addressCountry", "name": "addressCountry", "value": values.addressCountry,
  "items": country_items, "attributes": {"autocomplete": "country"},
  "errorMessage": {"text": errors.addressCountry} if errors.addressCountry else undefined
}) }}
"""


@pytest.fixture(scope="module")
def pages() -> PayPages:
    return PayPages(csrf_secret=b"c" * 32, sessions=SessionCodec(b"s" * 32, max_age=60))


def squeezed(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize(
    ("value", "error"),
    [("GB", None), ("FR", None), ("FR", "Select a country"), ("", "Select a country"), ("XX", None), ("gb", None)],
)
def test_the_kept_select_is_the_macros_markup(pages: PayPages, lang: str, value: str, error: str | None) -> None:
    env = pages.environments[lang]
    expected = env.from_string(IN_PLACE).render(
        countries=choices(lang), values={"addressCountry": value}, errors={"addressCountry": error} if error else {}
    )
    kept = pages.country_select(lang, value, error)
    assert squeezed(kept) == squeezed(expected)
    assert pages.country_select(lang, value, error) is kept  # rendered once, then reused


def test_the_select_is_labelled_selected_and_escaped(pages: PayPages) -> None:
    welsh = str(pages.country_select("cy", "FR", "<b>Dewiswch wlad</b>"))
    assert '<label class="govuk-label" for="addressCountry">' in welsh and "Gwlad neu diriogaeth" in welsh
    assert '<option value="FR" selected>' in welsh and 'autocomplete="country"' in welsh
    assert 'aria-describedby="addressCountry-error"' in welsh
    assert "&lt;b&gt;Dewiswch wlad&lt;/b&gt;" in welsh and "<b>" not in welsh
    assert welsh.count("<option ") == len(choices("cy")) == 249
    english = str(pages.country_select("en", "GB", None))
    assert '<option value="GB" selected>' in english and "addressCountry-error" not in english


def test_odd_values_and_errors_do_not_grow_the_cache_without_bound(pages: PayPages) -> None:
    for n in range(300):
        pages.country_select("en", f"Z{n}", f"error {n}")
    assert len(pages._country_selects) <= 256


def test_choices_are_sorted_once_per_language() -> None:
    assert choices("cy") is choices("cy")
    names = [name.casefold() for _code, name in choices("en")]
    assert names == sorted(names)


def test_templates_are_compiled_at_start_up(pages: PayPages) -> None:
    pages.warm()
    for env in pages.environments.values():
        compiled = {name for _loader, name in env.cache} if env.cache is not None else set()
        for name in (
            "pay/card_details.html",
            "pay/confirm.html",
            "pay/country_select.html",
            "gaap/error.html",
            "gaap/layout.html",  # what the pages extend and import, compiled by Jinja only when first rendered
            "govuk_frontend_jinja/template.html",
            "govuk_frontend_jinja/components/date-input/macro.html",
        ):
            assert name in compiled, f"{name} would be compiled when a payer first needs it"

"""Countries and the committed data tables: lookups by synonym and Welsh name, zones, and table integrity."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from services.notify.recipients.countries import (
    UK,
    PostageZone,
    all_countries,
    country_key,
    find_country,
    uk_postcode_areas,
)


def _table(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        resources.files("services.notify.recipients.data").joinpath(name).read_text("utf-8")
    )
    return loaded


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("u.s.a", "United States"),
        ("america", "United States"),
        ("United States America", "United States"),
        ("ROI", "Ireland"),
        ("Irish Republic", "Ireland"),
        ("RepOfIreland", "Ireland"),
        ("deutschland", "Germany"),
        ("UK", UK),
        ("England", UK),
        ("N. Ireland", UK),
        ("GB", UK),
        ("NIR", UK),
        ("Jersey", UK),
        ("Guernsey", UK),
        ("isle-of-man", UK),
        ("gambia", "The Gambia"),
        ("ESPAÑA", "Spain"),
        ("ESPANA", "Spain"),
        ("Lubnān", "Lebanon"),
        ("the democratic people's republic of korea", "North Korea"),
        ("ALAND", "Åland Islands"),
        ("Sao Tome + Principe", "Sao Tome and Principe"),
        ("Sao Tome & Principe", "Sao Tome and Principe"),
        ("Antigua, and Barbuda", "Antigua and Barbuda"),
        ("Islas Canarias", "Canary Islands"),
        ("Região Autónoma da Madeira", "Madeira"),
        ("Corse", "Corsica"),
        ("Korea, Republic of", "South Korea"),
        ("Virgin Islands, British", "British Virgin Islands"),
        ("Czechoslovakia", "Czechia"),
        ("Zaire", "Congo (Democratic Republic)"),
        ("Upper Volta", "Burkina Faso"),
        ("Türkiye", "Turkey"),
        ("Russian Federation", "Russia"),
        ("The Netherlands", "Netherlands"),
        ("FRA", "France"),
    ],
)
def test_synonyms_find_the_canonical_name(spelling: str, canonical: str) -> None:
    country = find_country(spelling)
    assert country is not None
    assert country.name == canonical


@pytest.mark.parametrize(
    ("welsh", "canonical"),
    [
        ("Yr Almaen", "Germany"),
        ("Almaen", "Germany"),
        ("Ffrainc", "France"),
        ("Sbaen", "Spain"),
        ("Yr Eidal", "Italy"),
        ("Iwerddon", "Ireland"),
        ("Gwlad Belg", "Belgium"),
        ("Y Swistir", "Switzerland"),
        ("Gwlad Pwyl", "Poland"),
        ("Yr Unol Daleithiau", "United States"),
        ("Unol Daleithiau America", "United States"),
        ("Seland Newydd", "New Zealand"),
        ("Rwsia", "Russia"),
        ("Cymru", UK),
        ("Yr Alban", UK),
        ("Y Deyrnas Unedig", UK),
        ("Ynys Manaw", UK),
    ],
)
def test_welsh_names(welsh: str, canonical: str) -> None:
    country = find_country(welsh)
    assert country is not None
    assert country.name == canonical


@pytest.mark.parametrize("spelling", ["Qumran", "Kumrahn", "SW1A 1AA", "Flat 2", "", "   ", "the", "y"])
def test_not_countries(spelling: str) -> None:
    assert find_country(spelling) is None


@pytest.mark.parametrize(
    ("spelling", "zone"),
    [
        ("u.s.a", PostageZone.REST_OF_WORLD),
        ("Rep of Ireland", PostageZone.EUROPE),
        ("deutschland", PostageZone.EUROPE),
        ("UK", PostageZone.UNITED_KINGDOM),
        ("Jersey", PostageZone.UNITED_KINGDOM),
        ("ESPAÑA", PostageZone.EUROPE),
        ("Kosovo", PostageZone.EUROPE),
        ("Azores", PostageZone.EUROPE),
        ("Gibraltar", PostageZone.EUROPE),
        ("Turkey", PostageZone.EUROPE),
        ("Kazakhstan", PostageZone.EUROPE),
        ("Australia", PostageZone.REST_OF_WORLD),
        ("Ceuta", PostageZone.REST_OF_WORLD),
    ],
)
def test_postage_zones(spelling: str, zone: PostageZone) -> None:
    country = find_country(spelling)
    assert country is not None
    assert country.postage_zone is zone


def test_royal_mail_european_list_has_62_places() -> None:
    europe = [country for country in all_countries() if country.postage_zone is PostageZone.EUROPE]
    assert len(europe) == 62


def test_only_the_united_kingdom_is_in_the_uk_zone() -> None:
    assert [country.name for country in all_countries() if country.is_uk] == [UK]


def test_key_folds_case_spacing_punctuation_and_accents() -> None:
    assert country_key("Côte d’Ivoire") == country_key("cote divoire") == "cotedivoire"
    assert country_key("Россия") == "россия"  # other scripts keep their letters


def test_no_two_spellings_share_a_key() -> None:
    names = _table("countries.json")["names"]
    assert isinstance(names, dict)
    keys = [country_key(spelling) for spelling in names]
    assert len(keys) == len(set(keys))


def test_every_spelling_names_a_known_country() -> None:
    table = _table("countries.json")
    countries, names = table["countries"], table["names"]
    assert isinstance(countries, dict)
    assert isinstance(names, dict)
    assert set(names.values()) <= set(countries)
    assert set(countries.values()) == {zone.value for zone in PostageZone}


def test_postcode_areas_include_crown_dependencies_and_bfpo() -> None:
    assert {"JE", "GY", "IM", "BF", "SW", "EC", "W", "ZE"} <= uk_postcode_areas()
    assert "GIR" not in uk_postcode_areas()
    assert len(uk_postcode_areas()) == 121 + 3 + 2  # UK areas, Crown dependencies, BF and BX


def test_sms_rate_table_records_its_sources() -> None:
    table = _table("sms_rates.json")
    about, rates = table["_about"], table["rate_multipliers"]
    assert isinstance(about, dict)
    assert isinstance(rates, dict)
    assert about["sources"]
    assert rates["44"] == 2
    assert rates["7"] == 10
    assert all(prefix.isdigit() and isinstance(rate, int) and rate >= 1 for prefix, rate in rates.items())


def test_committed_tables_match_the_generator() -> None:
    """The JSON must be what the script makes from its sources; rerun it after changing data/sources.py."""
    pytest.importorskip("pycountry", reason="pycountry is the generator's dev dependency")
    from services.notify.recipients.scripts import build_country_data

    for name, built in (
        ("countries.json", build_country_data.build_countries()),
        ("sms_rates.json", build_country_data.build_sms_rates()),
    ):
        committed = _table(name)
        for table in (committed, built):
            about = table["_about"]
            assert isinstance(about, dict)
            about.pop("generated_on")
        assert committed == built, f"{name} is stale: run the generator"

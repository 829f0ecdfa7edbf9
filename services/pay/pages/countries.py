"""Pay's own list of billing-address countries (pay spec §13.3): ISO 3166-1 alpha-2 codes with English and Welsh
names, read once from `countries.json`.

The JSON is generated from `pycountry` (a development dependency), so serving pages needs no data package:

    .venv/bin/python -m services.pay.pages.countries    # rewrites countries.json

Names are the common names where ISO has one ("Bolivia" rather than "Bolivia, Plurinational State of"); a country
with no Welsh translation of that name in pycountry's catalogue keeps its English one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "countries.json"
DEFAULT = "GB"


@dataclass(frozen=True)
class Country:
    code: str
    names: dict[str, str]

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]


@cache
def countries() -> dict[str, Country]:
    rows = json.loads(DATA.read_text(encoding="utf-8"))
    return {code: Country(code, {"en": en, "cy": cy}) for code, en, cy in rows}


def is_country(code: str) -> bool:
    return code in countries()


@cache
def choices(lang: str) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name in `lang`, for the country select; sorted once per language."""
    pairs = ((c.code, c.name(lang)) for c in countries().values())
    return tuple(sorted(pairs, key=lambda pair: pair[1].casefold()))


def build() -> list[list[str]]:
    import gettext

    import pycountry

    welsh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["cy"])
    rows = []
    for country in pycountry.countries:
        english = getattr(country, "common_name", None) or country.name
        translated = welsh.gettext(english)
        if translated == english and ", " not in country.name:  # never a qualified official name
            translated = welsh.gettext(country.name)
        rows.append([country.alpha_2, english, translated])
    return sorted(rows)


def render(rows: list[list[str]]) -> str:
    """One country per line, so a pycountry upgrade shows as a readable diff."""
    return "[\n" + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n]\n"


if __name__ == "__main__":
    DATA.write_text(render(build()), encoding="utf-8")

"""Generate the committed data tables in `services/notify/recipients/data/`.

Run from the repository root after changing anything below (it needs `pycountry`, a dev dependency):

    .venv/bin/python -m services.notify.recipients.scripts.build_country_data

It writes two files, each recording its sources:

- `countries.json`: every spelling we recognise on an address's last line (ISO 3166 names and codes
  and Welsh names from `pycountry`, plus the curated synonyms here) mapped to one canonical name, the
  canonical names' Royal Mail postage zones, and the UK postcode areas;
- `sms_rates.json`: the SMS rate multiplier per international calling code; a code missing from it
  cannot receive our text messages.

Why a script rather than hand-edited JSON: every value keeps a source, a `pycountry` upgrade is one
command, and two spellings that fold to the same key (see `countries.country_key`) but name different
countries stop the build instead of silently shadowing each other.
"""

from __future__ import annotations

import gettext
import json
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path

import pycountry

from services.notify.recipients.countries import UK, country_key
from services.notify.recipients.data.sources import (
    EUROPE,
    EXTRA_TERRITORIES,
    GOVUK_NAMES,
    HISTORIC_SUCCESSORS,
    OVERRIDES,
    RATE_SOURCE,
    REFERENCE_RATES,
    SYNONYMS,
    UK_ALPHA_2,
    UK_POSTCODE_AREAS,
    WELSH_NAMES,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class Names:
    """Spellings by priority: a curated spelling beats a generated one; equal-priority clashes are errors."""

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[int, str, str]] = {}
        self.clashes: list[str] = []

    def add(self, spelling: str, canonical: str, priority: int) -> None:
        key = country_key(spelling)
        if not key or any(character.isdigit() for character in spelling):
            return
        existing = self.by_key.get(key)
        if existing is None or priority > existing[0]:
            self.by_key[key] = (priority, spelling, canonical)
        elif priority == existing[0] and existing[2] != canonical:
            self.clashes.append(f"{spelling!r} -> {canonical!r} clashes with {existing[1]!r} -> {existing[2]!r}")

    def as_table(self) -> dict[str, str]:
        return dict(sorted((spelling, canonical) for _, spelling, canonical in self.by_key.values()))


CURATED, CANONICAL, ISO_NAME, ISO_CODE, WELSH_ISO, HISTORIC = 6, 5, 4, 3, 2, 1


def uninverted(name: str) -> str | None:
    """`Korea, Republic of` -> `Republic of Korea`; `Virgin Islands, British` -> `British Virgin Islands`."""
    head, sep, tail = name.partition(", ")
    if not sep or ", " in tail:
        return None
    if tail.endswith((" of", " of the")) or " " not in tail:
        return f"{tail} {head}"
    return None


def historic_spellings(name: str) -> set[str]:
    """`Zaire, Republic of` -> `Zaire`, `Republic of Zaire`; a tail that is a name in itself is kept too."""
    head, _, tail = name.partition(", ")
    spellings = {head}
    if alternative := uninverted(name):
        spellings.add(alternative)
    elif tail and ", " not in tail:
        spellings.add(tail)
    return spellings


def canonical_for(country: object) -> str:
    alpha_2 = getattr(country, "alpha_2", "")
    if alpha_2 in UK_ALPHA_2:
        return UK
    return GOVUK_NAMES.get(alpha_2) or getattr(country, "common_name", None) or country.name  # type: ignore[attr-defined]


def build_countries() -> dict[str, object]:
    welsh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["cy"])
    names = Names()
    zones: dict[str, str] = {}

    for country in pycountry.countries:
        canonical = canonical_for(country)
        zones[canonical] = ""
        names.add(canonical, canonical, CANONICAL)
        for attribute in ("name", "official_name", "common_name"):
            spelling = getattr(country, attribute, None)
            if spelling:
                names.add(spelling, canonical, ISO_NAME)
                if alternative := uninverted(spelling):
                    names.add(alternative, canonical, ISO_NAME)
        names.add(country.alpha_2, canonical, ISO_CODE)
        names.add(country.alpha_3, canonical, ISO_CODE)
        welsh_name = welsh.gettext(country.name)
        if welsh_name != country.name:
            names.add(welsh_name, canonical, WELSH_ISO)

    for subdivision in pycountry.subdivisions.get(country_code="GB") or []:
        if subdivision.type == "Country" or subdivision.code in {"GB-NIR", "GB-WLS"}:
            names.add(subdivision.name.split(" [")[0], UK, ISO_NAME)

    for historic in pycountry.historic_countries:
        successor = HISTORIC_SUCCESSORS.get(historic.alpha_4)
        if successor is None:
            continue
        target = (
            successor if successor in EXTRA_TERRITORIES else canonical_for(pycountry.countries.get(alpha_2=successor))
        )
        for spelling in historic_spellings(historic.name):
            names.add(spelling, target, HISTORIC)

    for territory in EXTRA_TERRITORIES:
        zones[territory] = ""
        names.add(territory, territory, CANONICAL)
    for spelling, canonical in {**SYNONYMS, **WELSH_NAMES}.items():
        if canonical not in zones:
            sys.exit(f"synonym {spelling!r} names unknown country {canonical!r}")
        names.add(spelling, canonical, CURATED)

    if names.clashes:
        sys.exit("spellings clash, add a curated synonym to decide:\n  " + "\n  ".join(names.clashes))
    unknown = EUROPE - zones.keys()
    if unknown:
        sys.exit(f"European postage list names unknown countries: {sorted(unknown)}")
    for canonical in zones:
        zones[canonical] = "united-kingdom" if canonical == UK else "europe" if canonical in EUROPE else "rest-of-world"

    return {
        "_about": {
            "generated_by": "services/notify/recipients/scripts/build_country_data.py",
            "generated_on": date.today().isoformat(),
            "pycountry": version("pycountry"),
            "sources": [
                "pycountry: ISO 3166-1 names, official names and codes; ISO 3166-3 historic names; "
                "GB subdivisions; Welsh names from the iso-codes `cy` catalogue",
                "GOV.UK country and territory register names (as used by GOV.UK Notify) for canonical names",
                "Royal Mail international zones, Europe list (royalmail.com/international-zones), "
                "as transcribed in alphagov/notifications-utils countries/_data/europe.txt",
                "curated synonyms and Welsh names in data/sources.py",
                "UK postcode areas: Royal Mail PAF areas, plus BF (BFPO) and BX (non-geographic)",
            ],
        },
        "countries": dict(sorted(zones.items())),
        "names": names.as_table(),
        "uk_postcode_areas": sorted(UK_POSTCODE_AREAS),
    }


def build_sms_rates() -> dict[str, object]:
    rates = {**REFERENCE_RATES, **OVERRIDES}
    return {
        "_about": {
            "generated_by": "services/notify/recipients/scripts/build_country_data.py",
            "generated_on": date.today().isoformat(),
            "sources": RATE_SOURCE,
            "meaning": "cost of one fragment in UK text messages; a calling code not listed cannot receive SMS",
        },
        "rate_multipliers": dict(sorted(rates.items(), key=lambda item: (len(item[0]), item[0]))),
    }


def write(name: str, table: dict[str, object]) -> None:
    path = DATA_DIR / name
    path.write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    write("countries.json", build_countries())
    write("sms_rates.json", build_sms_rates())


if __name__ == "__main__":
    main()

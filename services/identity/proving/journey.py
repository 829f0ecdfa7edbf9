"""The proving journey's state and its rules (spec §10.3, §10.4, §7.2), kept apart from the pages that drive it.

The journey lives in the browser session (at most 24 hours) as a plain dict, so it survives between requests and
processes like the sign-in journeys; evidence records are kept as One Login's field names.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from services.identity.proving.scoring import EvidenceRecord, Outcome
from services.identity.proving.sources import Address, Person

JOURNEY_TTL = 86_400
DOCUMENT_ATTEMPTS = 3
UNAVAILABLE_TRIES = 3
PASSPORT, LICENCE = "passport", "driving-licence"


@dataclass
class Proving:
    level: int
    started: float = field(default_factory=time.time)
    #: {"given": [...], "family": str, "birth": "YYYY-MM-DD"}, from the document page.
    person: dict[str, Any] | None = None
    #: The claim the document gives (`passport` or `drivingPermit`) and its value.
    document: dict[str, Any] | None = None
    addresses: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    unavailable: int = 0
    kbv: dict[str, Any] | None = None

    @classmethod
    def load(cls, raw: dict[str, Any] | None, level: int) -> Proving:
        """The journey in progress, or a new one if there is none, it is too old, or it was for another level."""
        if raw and raw.get("level") == level and time.time() - raw.get("started", 0) < JOURNEY_TTL:
            return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})
        return cls(level)

    def dump(self) -> dict[str, Any]:
        return asdict(self)

    def evidence(self) -> list[EvidenceRecord]:
        return [to_record(r) for r in self.records]

    def add(self, record: EvidenceRecord) -> None:
        self.records.append(asdict(record))

    def claimant(self) -> Person:
        assert self.person is not None
        return Person(tuple(self.person["given"]), self.person["family"], date.fromisoformat(self.person["birth"]))

    def places(self) -> list[Address]:
        return [Address(**a) for a in self.addresses]


def to_record(data: dict[str, Any]) -> EvidenceRecord:
    tuples = ("ci", "checkDetails", "failedCheckDetails")
    values: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in data.items()}
    return EvidenceRecord(**values)


def return_code(records: list[EvidenceRecord], outcome: Outcome, requested: int) -> str | None:
    """Spec §7.2, the first that applies: `B` document failed, `C` fraud indicator, `D` KBV failed or unavailable,
    `A` no accepted profile for the level asked. None when the request is met."""
    if outcome.level >= requested:
        return None
    cis = [ci for r in records for ci in r.ci]
    documents = [r for r in records if r.strengthScore is not None]
    if any(r.validityScore == 0 for r in documents) or any(ci.startswith("D") for ci in cis):
        return "B"
    if any(ci.startswith("F") for ci in cis):
        return "C"
    if outcome.scores.verification == 0:
        return "D"
    return "A"


def identity_details(state: Proving, sandbox: bool) -> dict[str, Any]:
    """What the identity record keeps (spec §10.6), already in the shapes of the claims (spec §7.1, §7.2)."""
    assert state.person is not None
    parts = [{"value": given, "type": "GivenName"} for given in state.person["given"]]
    parts.append({"value": state.person["family"], "type": "FamilyName"})
    details: dict[str, Any] = {
        "name": [{"nameParts": parts}],
        "birthDate": [{"value": state.person["birth"]}],
        "address": [address_claim(a) for a in state.addresses],
        "txns": [r["txn"] for r in state.records],
        "sandbox": sandbox,
    }
    if state.document:
        details.update(state.document)
    return details


def address_claim(address: dict[str, Any]) -> dict[str, Any]:
    building = address.get("building", "")
    claim = {
        "buildingNumber" if building.isdigit() else "buildingName": building,
        "streetName": address.get("street", ""),
        "addressLocality": address.get("locality", ""),
        "postalCode": address["postal_code"],
        "addressCountry": "GB",
    }
    if address.get("valid_from"):
        claim["validFrom"] = f"{address['valid_from']}-01-01"
    return {k: v for k, v in claim.items() if v}

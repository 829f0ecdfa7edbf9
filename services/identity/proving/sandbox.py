"""The built-in sandbox sources (spec §10.5): deterministic, in-process answers over a fixture set of test
identities S1–S7, every record marked `sandbox: true`. Operators extend `IDENTITIES`; anyone not in it is "not found".

They exist so relying parties can run every journey outcome (P2, P1 only, each failure code, an outage) without an
authoritative source, and so the journey is tested through the same adapter interfaces a real source implements.
Question texts and options are marked `N_`, so the pages show them in Welsh; the answers compared are the English.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from services.identity.i18n import N_
from services.identity.proving.scoring import EvidenceRecord
from services.identity.proving.sources import (
    Address,
    DrivingLicenceDetails,
    KbvQuestion,
    KbvQuestions,
    PassportDetails,
    Person,
    SourceUnavailable,
    document_record,
    kbv_record,
    record,
)

NONE_OF_THESE = N_("None of these")
BANKS = ("Sandbox Bank", "Example Building Society", "Test Savings", "Demo Credit Union")
LOANS = (N_("Up to £99"), N_("£100 to £199"), N_("£200 to £299"), N_("I have no loan"))


@dataclass(frozen=True)
class SandboxIdentity:
    ref: str
    person: Person
    postal_code: str
    moved_in: int
    passport: str | None = None
    licence: str | None = None
    expiry: date | None = None
    fraud: int = 0
    activity: int = 0
    fraud_ci: str | None = None
    kbv: tuple[str, str, str] | None = None  # bank, move year, loan band; None → no questions
    outage: bool = False


def _person(given: str, family: str, born: str) -> Person:
    return Person(tuple(given.split()), family, date.fromisoformat(born))


#: Spec §10.5's table.
IDENTITIES: list[SandboxIdentity] = [
    SandboxIdentity("S1", _person("Ada", "Testwell", "1985-03-14"), "SB1 1AA", 2015, passport="123456789",
                    expiry=date(2031, 6, 30), fraud=2, activity=1, kbv=("Sandbox Bank", "2015", "£100 to £199")),
    SandboxIdentity("S2", _person("Bryn Edward", "Hughes", "1972-09-02"), "SB2 2BB", 2010, licence="HUGHE709022BE9SX",
                    expiry=date(2029, 9, 1), fraud=2, activity=1,
                    kbv=("Example Building Society", "2010", "I have no loan")),
    SandboxIdentity("S3", _person("Cara", "Lowe", "1990-01-17"), "SB3 3CC", 2019, licence="LOWE9951170C99LK",
                    expiry=date(2030, 1, 16), fraud=1, activity=0, kbv=("Sandbox Bank", "2019", "Up to £99")),
    SandboxIdentity("S4", _person("Dev", "Kemp", "1979-11-23"), "SB4 4DD", 2012, passport="543219876",
                    expiry=date(2019, 1, 1), fraud=2, activity=1),
    SandboxIdentity("S5", _person("Evan", "Marker", "1988-05-05"), "SB5 5EE", 2018, passport="987654321",
                    expiry=date(2033, 4, 2), fraud_ci="F01"),
    SandboxIdentity("S6", _person("Fay", "Thinfile", "1995-12-31"), "SB6 6FF", 2021, passport="246813579",
                    expiry=date(2030, 10, 10), fraud=1, activity=0),
    SandboxIdentity("S7", _person("Gus", "Outage", "1970-07-07"), "", 0, outage=True),
]  # fmt: skip


def _same(a: Person, b: Person) -> bool:
    return (
        a.family_name.upper() == b.family_name.upper()
        and a.birth_date == b.birth_date
        and ([n.upper() for n in a.given_names] == [n.upper() for n in b.given_names])
    )


def find(person: Person) -> SandboxIdentity | None:
    """The fixture for this person; an outage identity matches on name and birth date alone."""
    return next((i for i in IDENTITIES if _same(i.person, person)), None)


def _outage(person: Person) -> None:
    found = find(person)
    if found is not None and found.outage:
        raise SourceUnavailable(found.ref)


def _compact(postal_code: str) -> str:
    return postal_code.replace(" ", "").upper()


class SandboxPassport:
    async def check(self, details: PassportDetails) -> EvidenceRecord:
        _outage(details.person)
        found = find(details.person)
        matched = (
            found is not None
            and found.passport == details.number
            and found.expiry == details.expiry
            and details.expiry >= date.today()
        )
        return document_record("sandbox-passport", 4, matched=matched, sandbox=True)


class SandboxDrivingLicence:
    async def check(self, details: DrivingLicenceDetails) -> EvidenceRecord:
        _outage(details.person)
        found = find(details.person)
        matched = (
            found is not None
            and found.licence == details.number
            and found.expiry == details.expiry
            and details.expiry >= date.today()
        )
        return document_record("sandbox-driving-licence", 3, matched=matched, sandbox=True)


class SandboxFraud:
    async def check(self, person: Person, addresses: list[Address]) -> EvidenceRecord:
        _outage(person)
        found = find(person)
        if found is None or not any(_compact(a.postal_code) == _compact(found.postal_code) for a in addresses):
            return record("sandbox-fraud", sandbox=True, identityFraudScore=0, activityHistoryScore=0)
        if found.fraud_ci:
            return record("sandbox-fraud", sandbox=True, identityFraudScore=0, ci=(found.fraud_ci,))
        scores = {"identityFraudScore": found.fraud, "activityHistoryScore": found.activity}
        return record("sandbox-fraud", sandbox=True, **scores)


class SandboxKbv:
    """Three questions (spec §10.5): bank, the year the user moved in, the monthly loan payment band."""

    async def start(self, person: Person, addresses: list[Address]) -> KbvQuestions:
        _outage(person)
        found = find(person)
        # The session id names the fixture, so answering needs no state kept between requests or processes.
        session_id = f"{found.ref if found else 'none'}.{secrets.token_urlsafe(12)}"
        if found is None or found.kbv is None:
            return KbvQuestions(session_id)
        year = int(found.kbv[1])
        years = tuple(str(y) for y in (year - 2, year - 1, year, year + 1))
        return KbvQuestions(
            session_id,
            (
                KbvQuestion("KBV-BANK", N_("Which bank or building society do you have an account with?"),
                            (*BANKS, NONE_OF_THESE)),
                KbvQuestion("KBV-MOVE-YEAR", N_("In which year did you move to your current address?"),
                            (*years, NONE_OF_THESE)),
                KbvQuestion("KBV-LOAN", N_("How much do you pay each month for your loan?"), (*LOANS, NONE_OF_THESE)),
            ),
        )  # fmt: skip

    async def answer(self, session_id: str, answers: dict[str, str]) -> EvidenceRecord:
        ref = session_id.partition(".")[0]
        expected = next((i.kbv for i in IDENTITIES if i.ref == ref), None)
        if expected is None:
            return kbv_record("sandbox-kbv", None, sandbox=True)
        keys = ("KBV-BANK", "KBV-MOVE-YEAR", "KBV-LOAN")
        correct = sum(answers.get(key) == value for key, value in zip(keys, expected, strict=True))
        return kbv_record("sandbox-kbv", correct, sandbox=True)

"""Proving rules tested without servers: the GPG 45 profile table and its evaluation (spec §10.2, §10.3), return
codes (§7.2), document validation (§10.4) and the sandbox sources S1–S7 (§10.5)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date

import pytest

from services.identity.proving import documents, sandbox
from services.identity.proving.journey import return_code
from services.identity.proving.scoring import ACCEPTED, PROFILES, EvidenceRecord, Profile, Scores, evaluate, matches
from services.identity.proving.sources import (
    Address,
    DrivingLicenceDetails,
    PassportDetails,
    SourceUnavailable,
)


def rec(**scores: object) -> EvidenceRecord:
    return EvidenceRecord(txn="t", source="test", **scores)  # type: ignore[arg-type]


def doc(strength: int, validity: int) -> EvidenceRecord:
    return rec(strengthScore=strength, validityScore=validity)


def test_the_table_is_the_specs() -> None:
    assert len(PROFILES) == 32
    assert [p.name for p in PROFILES[:3]] == ["L1A", "L1B", "L1C"]
    by_name = {p.name: p for p in PROFILES}
    assert by_name["M2B"] == Profile("M2B", ((3, 2), (2, 2)), 1, 1, 2)
    assert by_name["V3A"] == Profile("V3A", ((3, 3), (2, 2), (2, 2)), 3, 3, 3)
    assert ACCEPTED == {2: ("M1A", "M1B", "M2B"), 1: ("L1A",)}


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_each_profile_is_met_by_its_own_scores_and_not_by_less(profile: Profile) -> None:
    exact = Scores(profile.evidence, profile.activity, profile.fraud, profile.verification)
    assert matches(profile, exact)
    lower = [
        replace(exact, activity=exact.activity - 1),
        replace(exact, fraud=exact.fraud - 1),
        replace(exact, verification=exact.verification - 1),
        replace(exact, evidence=exact.evidence[1:]),
        replace(exact, evidence=((exact.evidence[0][0] - 1, exact.evidence[0][1]), *exact.evidence[1:])),
        replace(exact, evidence=((exact.evidence[0][0], exact.evidence[0][1] - 1), *exact.evidence[1:])),
    ]
    for scores in lower:
        if min(scores.activity, scores.fraud, scores.verification) >= 0:
            assert not matches(profile, scores), scores


@pytest.mark.parametrize(
    ("records", "level", "profile"),
    [
        # The spec's examples (§10.3).
        ([doc(4, 2), rec(identityFraudScore=1), rec(verificationScore=2)], 2, "M1A"),
        ([doc(3, 2), rec(activityHistoryScore=1, identityFraudScore=2), rec(verificationScore=2)], 2, "M1B"),
        ([doc(3, 2), rec(activityHistoryScore=0, identityFraudScore=1), rec(verificationScore=2)], 1, "L1A"),
        # Two documents: M2B assigns the licence to 3/2 and the other to 2/2, in any order given.
        ([doc(2, 2), doc(3, 2), rec(activityHistoryScore=1, identityFraudScore=1), rec(verificationScore=2)], 2, "M2B"),
        # Scores are maxima over records, never sums.
        ([doc(4, 2), rec(identityFraudScore=1), rec(verificationScore=1), rec(verificationScore=1)], 1, "L1A"),
        # A failed document check (validity 0) satisfies no profile.
        ([doc(4, 0), rec(identityFraudScore=2), rec(verificationScore=2)], 0, None),
        ([doc(4, 2), rec(identityFraudScore=0), rec(verificationScore=2)], 0, None),
        # Without a verification score, the biometric verification level is used.
        ([doc(4, 2), rec(identityFraudScore=1), rec(checkDetails=({"biometricVerificationProcessLevel": 2},))], 2,
         "M1A"),
    ],
)  # fmt: skip
def test_evaluation(records: list[EvidenceRecord], level: int, profile: str | None) -> None:
    outcome = evaluate(records)
    assert (outcome.level, outcome.profile) == (level, profile)


@pytest.mark.parametrize(
    ("records", "requested", "code"),
    [
        ([doc(4, 2), rec(identityFraudScore=1), rec(verificationScore=2)], 2, None),
        ([doc(4, 0), rec(identityFraudScore=0, ci=("F01",)), rec(verificationScore=0)], 2, "B"),
        ([rec(strengthScore=4, validityScore=0, ci=("D02",))], 1, "B"),
        ([doc(4, 2), rec(identityFraudScore=0, ci=("F01",))], 2, "C"),
        ([doc(4, 2), rec(identityFraudScore=1), rec(verificationScore=0)], 2, "D"),
        ([doc(3, 2), rec(identityFraudScore=1), rec(verificationScore=2)], 2, "A"),
        ([doc(3, 2), rec(identityFraudScore=1), rec(verificationScore=2)], 1, None),
    ],
)  # fmt: skip
def test_return_codes_first_that_applies(records: list[EvidenceRecord], requested: int, code: str | None) -> None:
    assert return_code(records, evaluate(records), requested) == code


def test_icao_check_digits() -> None:
    assert documents.valid_td3_line2("L898902C36UTO7408122F1204159ZE184226B<<<<<10")  # ICAO's specimen
    assert documents.valid_td3_line2("1234567897GBR8503149F3106305<<<<<<<<<<<<<<<2")  # S1
    assert not documents.valid_td3_line2("1234567898GBR8503149F3106305<<<<<<<<<<<<<<<2")
    assert not documents.valid_td3_line2("1234567897GBR8513149F3106305<<<<<<<<<<<<<<<2")  # month 13
    assert not documents.valid_td3_line2("1234567897GBR8503149F31063")
    for number, digit in (("123456789", 7), ("543219876", 9), ("987654321", 3), ("246813579", 9)):
        assert documents.check_digit(number) == digit


def test_driving_licence_numbers() -> None:
    assert documents.dvla_agrees("HUGHE709022BE9SX", "Hughes", ["Bryn", "Edward"], date(1972, 9, 2))
    assert documents.dvla_agrees("LOWE9951170C99LK", "Lowe", ["Cara"], date(1990, 1, 17))  # month + 50
    assert documents.dvla_agrees("MCDON810100AB9XY", "MacDonald", ["Alan", "Bea"], date(1980, 10, 10))
    assert not documents.dvla_agrees("HUGHE709022XE9SX", "Hughes", ["Bryn", "Edward"], date(1972, 9, 2))
    assert not documents.dvla_agrees("HUGHE709032BE9SX", "Hughes", ["Bryn", "Edward"], date(1972, 9, 2))
    assert not documents.dvla_agrees("hughe709022BE9SX", "Hughes", ["Bryn", "Edward"], date(1972, 9, 2))
    assert documents.valid_dva_number("12345678") and not documents.valid_dva_number("1234567")


async def _journey(ref: str, answers: tuple[str, ...] | None = None) -> list[EvidenceRecord]:
    """S1–S7 through the sandbox adapters, as the pages call them."""
    fixture = next(i for i in sandbox.IDENTITIES if i.ref == ref)
    person, home = fixture.person, [Address(fixture.postal_code or "ZZ1 1ZZ", valid_from=fixture.moved_in)]
    if fixture.licence:
        document = await sandbox.SandboxDrivingLicence().check(
            DrivingLicenceDetails(person, fixture.licence, fixture.expiry or date.today(), "DVLA", "12")
        )
    else:
        details = PassportDetails(person, fixture.passport or "123456789", fixture.expiry or date(2030, 1, 1))
        document = await sandbox.SandboxPassport().check(details)
    kbv = sandbox.SandboxKbv()
    questions = await kbv.start(person, home)
    given = dict(zip(("KBV-BANK", "KBV-MOVE-YEAR", "KBV-LOAN"), answers or fixture.kbv or (), strict=False))
    return [document, await sandbox.SandboxFraud().check(person, home), await kbv.answer(questions.session_id, given)]


@pytest.mark.parametrize(
    ("ref", "level", "profile", "code"),
    [("S1", 2, "M1A", None), ("S2", 2, "M1B", None), ("S3", 1, "L1A", "A"), ("S4", 0, None, "B"),
     ("S5", 0, None, "C"), ("S6", 0, None, "D")],
)  # fmt: skip
def test_sandbox_identities(ref: str, level: int, profile: str | None, code: str | None) -> None:
    records = asyncio.run(_journey(ref))
    assert all(r.sandbox and r.txn for r in records)
    outcome = evaluate(records)
    assert (outcome.level, outcome.profile) == (level, profile)
    assert return_code(records, outcome, 2) == code


def test_sandbox_partial_kbv_and_outage() -> None:
    records = asyncio.run(_journey("S1", ("Sandbox Bank", "2015", "Up to £99")))
    assert records[-1].verificationScore == 1
    assert evaluate(records).profile == "L1A"
    wrong = asyncio.run(_journey("S1", ("Test Savings", "2014", "Up to £99")))
    assert wrong[-1].ci == ("V01",)
    with pytest.raises(SourceUnavailable):
        asyncio.run(_journey("S7"))

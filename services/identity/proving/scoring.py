"""GPG 45 scoring (spec §10.1–10.3): the profile table as data, and the evaluation comparing achieved scores with it.

Scores are never summed: a profile matches when enough distinct evidence items each reach its (strength, validity)
and the best activity, fraud and verification scores over all records reach its values. The whole table is kept
(not only the accepted profiles) so the accepted lists can change without touching the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import permutations


@dataclass(frozen=True)
class EvidenceRecord:
    """One check's result, with One Login's field names (spec §10.1); None means the check gave no such score."""

    txn: str
    source: str
    strengthScore: int | None = None  # One Login's field names
    validityScore: int | None = None
    activityHistoryScore: int | None = None
    identityFraudScore: int | None = None
    verificationScore: int | None = None
    ci: tuple[str, ...] = ()
    checkDetails: tuple[dict[str, object], ...] = ()
    failedCheckDetails: tuple[dict[str, object], ...] = ()
    checkedAt: int = 0
    sandbox: bool = False


@dataclass(frozen=True)
class Profile:
    name: str
    evidence: tuple[tuple[int, int], ...]
    activity: int
    fraud: int
    verification: int


def _table(text: str) -> tuple[Profile, ...]:
    """Parse the profile table written as in the spec: `name strength/validity[,…] A F V` per line."""
    profiles = []
    for line in text.strip().splitlines():
        name, evidence, activity, fraud, verification = line.split()
        pairs = tuple((int(s), int(v)) for s, v in (item.split("/") for item in evidence.split(",")))
        profiles.append(Profile(name, pairs, int(activity), int(fraud), int(verification)))
    return tuple(profiles)


#: Spec §10.2, in table order (govuk-one-login/ipv-core-back Gpg45Profile.java).
PROFILES = _table("""
L1A 2/2 0 1 1
L1B 3/2 0 0 1
L1C 1/1 3 2 2
L2A 1/1,1/1 2 1 2
L2B 1/1,1/1 2 2 1
L3A 1/1,1/1,1/1 2 1 1
M1A 4/2 0 1 2
M1B 3/2 1 2 2
M1C 3/3 0 0 3
M1D 2/2 2 1 3
M2A 2/2,2/2 3 2 2
M2B 3/2,2/2 1 1 2
M2C 3/2,2/2 0 1 3
M3A 2/2,2/2,2/2 2 2 2
H1A 4/3 0 1 3
H1B 3/3 2 1 3
H1C 4/3 0 0 4
H2A 2/2,2/2 3 2 3
H2B 4/2,3/2 0 2 3
H2C 3/3,2/2 1 1 3
H2D 3/3,2/2 0 1 3
H2E 4/3,3/3 0 0 3
H3A 2/2,2/2,2/2 2 2 3
V1A 4/3 0 3 3
V1B 4/4 0 1 3
V1C 4/3 1 1 4
V1D 4/4 0 0 4
V2A 3/3,3/3 3 2 3
V2B 4/3,3/3 0 2 3
V2C 4/3,2/2 2 2 3
V2D 4/4,4/4 0 0 3
V3A 3/3,2/2,2/2 3 3 3
""")
BY_NAME = {p.name: p for p in PROFILES}

#: Spec §10.2 "This service": the accepted profiles per level, highest level first (evaluation order, §10.3 step 5).
ACCEPTED: dict[int, tuple[str, ...]] = {2: ("M1A", "M1B", "M2B"), 1: ("L1A",)}


@dataclass(frozen=True)
class Scores:
    """What a journey achieved: evidence items sorted best first, and the maxima of the other three scores."""

    evidence: tuple[tuple[int, int], ...]
    activity: int
    fraud: int
    verification: int


@dataclass(frozen=True)
class Outcome:
    level: int  # 0 when no accepted profile matched
    profile: str | None
    scores: Scores = field(compare=False)


def scores_of(records: Sequence[EvidenceRecord]) -> Scores:
    """Spec §10.3 step 3. A record without `verificationScore` falls back to its biometric verification level."""
    pairs = [(s, v) for r in records if (s := r.strengthScore) is not None and (v := r.validityScore) is not None]
    evidence = sorted(pairs, reverse=True)

    def best(values: Sequence[int | None]) -> int:
        return max((v for v in values if v is not None), default=0)

    def verification(record: EvidenceRecord) -> int | None:
        if record.verificationScore is not None:
            return record.verificationScore
        levels = [d.get("biometricVerificationProcessLevel") for d in record.checkDetails]
        return best([level for level in levels if isinstance(level, int)]) if any(levels) else None

    return Scores(
        evidence=tuple(evidence),
        activity=best([r.activityHistoryScore for r in records]),
        fraud=best([r.identityFraudScore for r in records]),
        verification=best([verification(r) for r in records]),
    )


def matches(profile: Profile, scores: Scores) -> bool:
    """Spec §10.3 step 4: some assignment of distinct achieved items covers every required item."""
    if (
        scores.activity < profile.activity
        or scores.fraud < profile.fraud
        or scores.verification < profile.verification
        or len(scores.evidence) < len(profile.evidence)
    ):
        return False
    return any(
        all(have[0] >= need[0] and have[1] >= need[1] for have, need in zip(chosen, profile.evidence, strict=True))
        for chosen in permutations(scores.evidence, len(profile.evidence))
    )


def evaluate(records: Sequence[EvidenceRecord], accepted: dict[int, tuple[str, ...]] = ACCEPTED) -> Outcome:
    """Spec §10.3 step 5: the first accepted profile that matches, trying P2 then P1, each in table order."""
    scores = scores_of(records)
    for level in sorted(accepted, reverse=True):
        for profile in PROFILES:
            if profile.name in accepted[level] and matches(profile, scores):
                return Outcome(level, profile.name, scores)
    return Outcome(0, None, scores)

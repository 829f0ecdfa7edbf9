"""Evidence sources behind adapter interfaces (spec §10.5), and what each check's result scores (spec §10.4).

Each source is an async `Protocol`, so a real passport, licence, fraud or KBV service plugs in as a class named by
`IDENTITY_SOURCE_*=package.module:Class` without touching the journey. The journey only ever sees `EvidenceRecord`s
or `SourceUnavailable`; the scores are assigned here, next to the results they interpret, so every adapter scores
alike.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Any, Protocol

from services.identity.proving.scoring import EvidenceRecord


class SourceUnavailable(Exception):
    """The source could not answer now; the user may try again (spec §10.5)."""


@dataclass(frozen=True)
class Person:
    given_names: tuple[str, ...]
    family_name: str
    birth_date: date


@dataclass(frozen=True)
class Address:
    postal_code: str
    building: str = ""
    street: str = ""
    locality: str = ""
    valid_from: int | None = None  # year moved in


@dataclass(frozen=True)
class PassportDetails:
    person: Person
    number: str
    expiry: date


@dataclass(frozen=True)
class DrivingLicenceDetails:
    person: Person
    number: str
    expiry: date
    issued_by: str  # "DVLA" or "DVA"
    issue_number: str | None = None


@dataclass(frozen=True)
class KbvQuestion:
    id: str
    text: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class KbvQuestions:
    session_id: str
    questions: tuple[KbvQuestion, ...] = field(default=())


class PassportSource(Protocol):
    async def check(self, details: PassportDetails) -> EvidenceRecord: ...


class DrivingLicenceSource(Protocol):
    async def check(self, details: DrivingLicenceDetails) -> EvidenceRecord: ...


class FraudSource(Protocol):
    async def check(self, person: Person, addresses: list[Address]) -> EvidenceRecord: ...


class KbvSource(Protocol):
    async def start(self, person: Person, addresses: list[Address]) -> KbvQuestions: ...

    async def answer(self, session_id: str, answers: dict[str, str]) -> EvidenceRecord: ...


def record(source: str, *, sandbox: bool, **scores: Any) -> EvidenceRecord:
    """A fresh evidence record with its own transaction id and check time."""
    return EvidenceRecord(
        txn=secrets.token_hex(16), source=source, checkedAt=int(time.time()), sandbox=sandbox, **scores
    )


def document_record(
    source: str, strength: int, *, matched: bool, lost_or_stolen: bool = False, sandbox: bool
) -> EvidenceRecord:
    """Spec §10.4: a matching, in-date document keeps its validity; anything else scores validity 0 (plus `D02`)."""
    if matched and not lost_or_stolen:
        return record(source, sandbox=sandbox, strengthScore=strength, validityScore=2,
                      checkDetails=({"checkMethod": "data"},))  # fmt: skip
    return record(
        source, sandbox=sandbox, strengthScore=strength, validityScore=0, ci=("D02",) if lost_or_stolen else (),
        failedCheckDetails=({"checkMethod": "data"},),
    )  # fmt: skip


def kbv_record(source: str, correct: int | None, *, sandbox: bool) -> EvidenceRecord:
    """Spec §10.4: 3 correct → 2, 2 → 1, fewer → 0 and `V01`; no questions (None) → 0 without a CI."""
    if correct is None:
        return record(source, sandbox=sandbox, verificationScore=0, failedCheckDetails=({"kbvQuality": 0},))
    score = {3: 2, 2: 1}.get(correct, 0)
    return record(source, sandbox=sandbox, verificationScore=score, ci=() if score else ("V01",),
                  checkDetails=({"checkMethod": "kbv", "kbvResponseMode": "multiple_choice"},) * correct)  # fmt: skip


def load_adapter(spec: str) -> Any:
    """`package.module:Class` → an instance, for `IDENTITY_SOURCE_*` (spec §10.5)."""
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)()


@dataclass(frozen=True)
class Sources:
    """The four sources the journey uses; `sandbox` when any is a built-in sandbox (pages then say so)."""

    passport: PassportSource
    driving_licence: DrivingLicenceSource
    fraud: FraudSource
    kbv: KbvSource
    sandbox: bool


def build_sources(settings: Any) -> Sources:
    """The configured adapters, the sandbox for any left empty. Production refuses a sandbox unless allowed."""
    from services.identity.proving import sandbox

    chosen: dict[str, Any] = {}
    used_sandbox = False
    defaults = {"passport": sandbox.SandboxPassport, "driving_licence": sandbox.SandboxDrivingLicence,
                "fraud": sandbox.SandboxFraud, "kbv": sandbox.SandboxKbv}  # fmt: skip
    for name, default in defaults.items():
        spec = getattr(settings, f"source_{name}")
        chosen[name] = load_adapter(spec) if spec else default()
        used_sandbox = used_sandbox or not spec
    if used_sandbox and not settings.platform.is_development and not settings.allow_sandbox_sources:
        raise RuntimeError("a sandbox evidence source is configured: set IDENTITY_ALLOW_SANDBOX_SOURCES=true")
    return Sources(**chosen, sandbox=used_sandbox)

"""Vectors of trust (spec §5.2), as GOV.UK One Login reads them.

`vtr` is a JSON array of dot-separated vectors. Credential components (`Cl`, `Cm`) are sorted and joined and must
give `Cl` or `Cl.Cm`; at most one identity component `P0`–`P3`, and `P1` and above need `Cl.Cm`. A list may not mix
identity vectors with non-identity ones, and the vector used is the lowest (One Login compares for equality, so the
ID token's `vot` states exactly this credential level).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CREDENTIAL_LEVELS = ("Cl", "Cl.Cm")
DEFAULT_VTR = '["Cl.Cm"]'


@dataclass(frozen=True, order=True)
class Vector:
    #: 0 for authentication only (`P0` or no P component), else the GPG 45 level asked for.
    identity: int
    #: 1 for `Cl`, 2 for `Cl.Cm`.
    strength: int

    @property
    def credential(self) -> str:
        return CREDENTIAL_LEVELS[self.strength - 1]

    @property
    def identity_level(self) -> str | None:
        return f"P{self.identity}" if self.identity else None

    def __str__(self) -> str:
        return self.credential + (f".P{self.identity}" if self.identity else "")


def _vector(text: str) -> Vector | None:
    parts = text.split(".")
    credentials = sorted(p for p in parts if p.startswith("C"))
    identities = [p for p in parts if p.startswith("P")]
    if len(credentials) + len(identities) != len(parts) or len(identities) > 1:
        return None
    joined = ".".join(credentials)
    if joined not in CREDENTIAL_LEVELS:
        return None
    identity = 0
    if identities:
        if identities[0] not in ("P0", "P1", "P2", "P3"):
            return None
        identity = int(identities[0][1])
    strength = CREDENTIAL_LEVELS.index(joined) + 1
    if identity >= 1 and strength < 2:
        return None
    return Vector(identity, strength)


def parse_vtr(raw: str) -> list[Vector] | None:
    """The vectors of a `vtr` value, or None when it is not valid ("Request vtr not valid")."""
    try:
        items = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        return None
    vectors = [_vector(item) for item in items]
    if any(v is None for v in vectors):
        return None
    found = [v for v in vectors if v is not None]
    if len({v.identity >= 1 for v in found}) > 1:
        return None
    return found


def lowest(vectors: list[Vector]) -> Vector:
    """The vector used: the lowest by identity level, then credential level (One Login's rule, not RFC 8485's)."""
    return min(vectors)

"""Pay-style bearer key authentication (pay spec §3).

Format and checksum first, in constant time, so garbage never reaches the database; then the keyed-hash lookup.
Every failure is the same bare 401 with `WWW-Authenticate: Bearer` and no body, as GOV.UK Pay answers.
"""

from __future__ import annotations

from gaap.principal import Principal
from gateway.auth.credentials import CredentialStore, ServiceEntry
from gateway.keys.formats import pay_key_mode


class PayAuthFailed(Exception):
    """Answered as a bare 401; carries nothing a caller could learn from."""


async def authenticate_pay(
    authorization: str | None, store: CredentialStore, request_id: str
) -> tuple[Principal, ServiceEntry]:
    if not authorization or authorization[:7].lower() != "bearer ":
        raise PayAuthFailed()
    key = authorization[7:].strip()
    mode = pay_key_mode(key, store.material.checksum_secret)
    if mode is None:
        raise PayAuthFailed()
    entry = await store.pay_key(key)
    if entry is None or entry.revoked or entry.mode != mode:
        raise PayAuthFailed()
    service = await store.service(entry.service_id)
    if service is None or not service.active:
        raise PayAuthFailed()
    store.note_used(entry.id)
    principal = Principal(
        request_id=request_id,
        service_id=str(entry.service_id),
        key_id=str(entry.id),
        key_type=entry.mode,
        scopes=frozenset(entry.scopes),
        organisation_id=str(service.organisation_id),
    )
    return principal, service

"""The gateway's two ways of checking a Notify token agree: the one-pass path for the official clients' shape
(`gaap.jws`) and PyJWT for everything else give the same answer for every token the one-pass path accepts."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from gaap.jws import encode_header, sign_hs256
from gateway.auth import notify
from gateway.auth.credentials import NotifyKeyEntry, ServiceEntry

SERVICE_ID = uuid.UUID("6a2f3c4e-0b7d-4b7e-9d0a-2b1f5e8c9d01")
SECRET = "0f9e8d7c-6b5a-4321-9fed-cba987654321"
NOW = 1_800_000_000
CLAIMS = {
    "fresh": {"iat": NOW},
    "fractional iat": {"iat": NOW + 0.5},
    "iat as text": {"iat": str(NOW)},
    "iat true": {"iat": True},
    "iat null": {"iat": None},
    "iat a list": {"iat": [NOW]},
    "iat too old": {"iat": NOW - 31},
    "iat too new": {"iat": NOW + 31},
}
ISSUERS = {
    "the service": str(SERVICE_ID),
    "a number": 5,
    "null": None,
    "not a uuid": "abc",
    "unknown": "5d1e2c3b-4a59-4687-b7c8-d9e0f1a2b3c4",
}


class Store:
    """The credential store's two methods authentication uses, holding one live key of one service."""

    def __init__(self, *, revoked: bool) -> None:
        key = NotifyKeyEntry(id=uuid.uuid4(), key_type="normal", scopes=(), secret=SECRET, revoked=revoked)
        self.entry = ServiceEntry(
            id=SERVICE_ID,
            organisation_id=uuid.uuid4(),
            active=True,
            restricted=False,
            rate_limit=3000,
            pay_rate_tier="default",
            notify_keys=(key,),
        )

    async def service(self, service_id: uuid.UUID) -> ServiceEntry | None:
        return self.entry if service_id == SERVICE_ID else None

    def note_used(self, key_id: uuid.UUID) -> None:
        pass


def answer(token: str, store: Store) -> str:
    try:
        principal, _ = asyncio.run(notify.authenticate_notify(f"Bearer {token}", store, "rid", clock=lambda: NOW))  # type: ignore[arg-type]
    except notify.NotifyAuthError as exc:
        return f"{exc.status_code} {exc.message}"
    return f"ok {principal.service_id} {principal.key_type}"


@pytest.mark.parametrize("revoked", [False, True])
@pytest.mark.parametrize("signed_with", [SECRET, "another-secret-of-the-same-length-000"])
@pytest.mark.parametrize("issuer", list(ISSUERS))
@pytest.mark.parametrize("claims", list(CLAIMS))
def test_both_paths_give_the_same_answer(
    claims: str, issuer: str, signed_with: str, revoked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sign_hs256(encode_header({}), {"iss": ISSUERS[issuer], **CLAIMS[claims]}, signed_with.encode())
    store = Store(revoked=revoked)
    assert notify._plain(token) is not None, "the one-pass path takes this token"
    one_pass = answer(token, store)
    monkeypatch.setattr(notify, "_plain", lambda _token: None)
    assert answer(token, store) == one_pass


def test_other_shapes_go_to_pyjwt() -> None:
    extra_claim = sign_hs256(encode_header({}), {"iss": str(SERVICE_ID), "iat": NOW, "exp": NOW - 1}, b"k")
    extra_header = sign_hs256(encode_header({"kid": "1"}), {"iss": str(SERVICE_ID), "iat": NOW}, b"k")
    assert notify._plain(extra_claim) is None
    assert notify._plain(extra_header) is None
    assert notify._plain("not.a.token") is None
    # An expired token signed with the key is refused with the generic text, as PyJWT decides (by the real clock).
    claims = {"iss": str(SERVICE_ID), "iat": NOW, "exp": int(time.time()) - 10}
    expired = sign_hs256(encode_header({}), claims, SECRET.encode())
    assert answer(expired, Store(revoked=False)) == f"403 {notify.GENERIC}"


def test_a_fresh_token_from_the_clock_is_accepted() -> None:
    token = sign_hs256(encode_header({}), {"iss": str(SERVICE_ID), "iat": int(time.time())}, SECRET.encode())
    try:
        principal, _ = asyncio.run(notify.authenticate_notify(f"Bearer {token}", Store(revoked=False), "rid"))  # type: ignore[arg-type]
    except notify.NotifyAuthError as exc:  # pragma: no cover - the assertion below says what went wrong
        pytest.fail(f"refused: {exc.message}")
    assert principal.service_id == str(SERVICE_ID)


@pytest.mark.parametrize(("offset", "accepted"), [(-31, False), (-30, True), (30, True), (31, False)])
def test_the_clock_skew_edge_is_30_seconds(offset: int, accepted: bool) -> None:
    token = sign_hs256(encode_header({}), {"iss": str(SERVICE_ID), "iat": NOW + offset}, SECRET.encode())
    expected = (
        f"ok {SERVICE_ID} normal" if accepted else "403 Error: Your system clock must be accurate to within 30 seconds"
    )
    assert answer(token, Store(revoked=False)) == expected

"""Browser sessions at the OP (spec §9.5), held in Redis and referenced by the `__Host-identity_session` cookie.

A session begins when a browser first needs one (an authorization request, a sign-in page) and holds: the user and
the credential level reached (0 none, 1 `Cl`, 2 `Cl.Cm`), `auth_time`, the `sid` claim, the pending authorization
request and the state of the journey in progress. It expires after `session_idle_ttl` without use and at most
`session_max_ttl` after it began.

The cookie's id is regenerated at every level change, so an id planted or seen before sign-in is worthless after
it; `sid` is a separate value that stays the same for the browser session and is what relying parties see. The
clients given ID tokens in a browser session are kept per `sid`, for logout, and each user's `sid`s that gave
tokens are kept too, so that ending a user's other sessions can tell those clients.

Sessions are keyed by cookie id alone. To end every other session of a user (after a password reset) a per-user
marker says "sessions signed in before T have ended"; `load` checks it, so each such session ends the next time
it is used, on whatever process sees it. The marker and the per-user `sid` record expire with the longest a
session can live (`session_max_ttl`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from starlette.requests import HTTPConnection
from starlette.responses import Response

from services.identity.oidc.store import PREFIX, SessionRecord


@dataclass
class BrowserSession:
    id: str
    sid: str
    created_at: float
    user_id: str | None = None
    level: int = 0
    auth_time: int | None = None
    #: When the user last signed in or changed level, to the microsecond (`auth_time` is whole seconds): a session
    #: signed in before its user's "sessions ended" marker has ended.
    signed_in_at: float | None = None
    #: The authorization request waiting for the user to sign in (`AuthorizationRequest.to_dict()`), and the
    #: earliest `auth_time` that satisfies it (a `prompt=login` or an expired `max_age` asks for a new sign-in).
    pending: dict[str, Any] | None = None
    fresh_after: int | None = None
    #: The journey in progress: the email being signed in or registered, a second factor being set up, ...
    journey: dict[str, Any] = field(default_factory=dict)

    def signed_in(self, user_id: str, level: int, now: float) -> None:
        if self.user_id != user_id:
            self.journey = {}
        self.user_id, self.level, self.auth_time, self.signed_in_at = user_id, level, int(now), now

    def sign_out(self) -> None:
        self.user_id, self.level, self.auth_time, self.signed_in_at, self.journey = None, 0, None, None, {}


class SessionStore:
    def __init__(
        self, redis: Redis, *, idle_ttl: int, max_ttl: int, secure: bool, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.idle_ttl = idle_ttl
        self.max_ttl = max_ttl
        self.secure = secure
        self.cookie = "__Host-identity_session" if secure else "identity_session"
        self.clock = clock

    @staticmethod
    def _key(session_id: str) -> str:
        return f"{PREFIX}session:{session_id}"

    @staticmethod
    def _clients_key(sid: str) -> str:
        return f"{PREFIX}sid-clients:{sid}"

    @staticmethod
    def _user_sids_key(user_id: str) -> str:
        return f"{PREFIX}user-sids:{user_id}"

    @staticmethod
    def _ended_key(user_id: str) -> str:
        return f"{PREFIX}sessions-ended:{user_id}"

    def new(self) -> BrowserSession:
        return BrowserSession(secrets.token_urlsafe(32), secrets.token_urlsafe(16), self.clock())

    async def load(self, request: HTTPConnection) -> BrowserSession | None:
        session_id = request.cookies.get(self.cookie)
        if not session_id or len(session_id) > 64:
            return None
        raw = await self.redis.get(self._key(session_id))
        if raw is None:
            return None
        session = BrowserSession(**orjson.loads(raw))
        if self.clock() - session.created_at >= self.max_ttl or await self._ended(session):
            await self.redis.delete(self._key(session_id))
            return None
        return session

    async def _ended(self, session: BrowserSession) -> bool:
        """Whether the session's user ended their sessions after this one signed in."""
        if session.user_id is None:
            return False
        ended = await self.redis.get(self._ended_key(session.user_id))
        return ended is not None and (session.signed_in_at or 0.0) < float(ended)

    async def load_or_new(self, request: HTTPConnection) -> BrowserSession:
        return await self.load(request) or self.new()

    async def save(self, session: BrowserSession, response: Response) -> None:
        """Store the session (renewing its idle timeout) and set its cookie on `response`."""
        remaining = int(session.created_at + self.max_ttl - self.clock())
        ttl = max(1, min(self.idle_ttl, remaining))
        await self.redis.set(self._key(session.id), orjson.dumps(asdict(session)), ex=ttl)
        response.set_cookie(
            self.cookie,
            session.id,
            max_age=max(1, remaining),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    async def rotate(self, session: BrowserSession) -> None:
        """A new cookie id for the same session (at every level change); the old id stops working at once."""
        await self.redis.delete(self._key(session.id))
        session.id = secrets.token_urlsafe(32)

    async def destroy(self, session: BrowserSession, response: Response) -> None:
        await self.redis.delete(self._key(session.id))
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="lax")

    def record_for(self, sid: str, user_id: str) -> SessionRecord:
        """Where a client given tokens in the browser session `sid` is recorded (and `sid` against its user):
        `/token` writes both in the script that redeems the code (`GrantStore.redeem`)."""
        return SessionRecord(self._clients_key(sid), self._user_sids_key(user_id), sid, self.max_ttl)

    async def take_clients(self, sid: str) -> list[str]:
        """The clients given ID tokens in the browser session `sid`, forgotten as they are read (at logout)."""
        key = self._clients_key(sid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.smembers(key)
            pipe.delete(key)
            members, _ = await pipe.execute()
        return sorted(m.decode() for m in members)

    async def end_others(self, keep: BrowserSession) -> list[str]:
        """End every session of `keep`'s user signed in before `keep` was; returns the clients given ID tokens in
        the ended sessions, forgotten as they are read."""
        if keep.user_id is None or keep.signed_in_at is None:
            raise ValueError("only a signed-in session can end its user's other sessions")
        sids_key = self._user_sids_key(keep.user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._ended_key(keep.user_id), repr(keep.signed_in_at), ex=self.max_ttl)
            pipe.smembers(sids_key)
            _, members = await pipe.execute()
        sids = sorted({m.decode() for m in members} - {keep.sid})
        if not sids:
            return []
        async with self.redis.pipeline(transaction=True) as pipe:
            for sid in sids:
                pipe.smembers(self._clients_key(sid))
                pipe.delete(self._clients_key(sid))
            pipe.srem(sids_key, *sids)
            taken = await pipe.execute()
        return sorted({client.decode() for given in taken[0:-1:2] for client in given})

"""The FastAPI side of Authlib, written once (Authlib's server integrations are Flask and Django only).

`OidcRequest` is Authlib's `OAuth2Request` over parameters already read from a Starlette request; its URI is built
from the configured issuer, never from `Host` or `X-Forwarded-*`. It also carries the request's `Exchange`: what
Authlib's synchronous hooks need (loaded beforehand with the async database and Redis clients) and the writes they
ask for, which the endpoint applies after Authlib has answered (spec §12).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from joserfc.jwk import KeySet
from starlette.datastructures import Headers

from services.identity.clients.registry import RegisteredClient
from services.identity.keys.ring import KeySnapshot


@dataclass
class Exchange:
    """One request's inputs to Authlib's hooks and the effects they record."""

    issuer: str
    keys: KeySnapshot
    client: RegisteredClient | None = None
    #: `/token`: how the request authenticates its client (`private_key_jwt`, `client_secret_post` or
    #: `client_secret_basic`), None when it carries no client authentication.
    auth_method: str | None = None
    client_keys: KeySet | None = None
    #: `/token`: the presented code's stored data, and whether it was already used.
    code_data: dict[str, Any] | None = None
    code_used: bool = False
    #: The user the code is issued to or was issued for: `sub`, `vot`, `sid`, `auth_time`, `user_id`.
    user: dict[str, Any] | None = None
    #: Effects: the assertion's `(jti, exp)`; the new code and what it is bound to.
    jti: tuple[str, int] | None = None
    issued_code: tuple[str, dict[str, Any]] | None = None


class Payload(OAuth2Payload):
    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class OidcRequest(OAuth2Request):
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        pairs: Sequence[tuple[str, str]],
        exchange: Exchange,
        *,
        form: Sequence[tuple[str, str]] = (),
    ) -> None:
        # Case-insensitive, as HTTP headers are: Authlib reads `Authorization` (HTTP Basic) by that spelling.
        held = headers if isinstance(headers, Headers) else Headers(headers=dict(headers))
        super().__init__(method=method, uri=uri, headers=held)
        self.payload = Payload(pairs)
        self._form = Payload(form).data
        self.exchange = exchange

    @property
    def args(self) -> dict[str, str]:
        return self.payload.data if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True)
class AuthlibAnswer:
    """What Authlib's `handle_response` produced: turned into a Starlette response by the endpoint."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

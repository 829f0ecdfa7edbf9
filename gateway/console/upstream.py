"""How the console acts for a service on notify and pay: through their public APIs, never their databases.

The gateway already vouches for every call it forwards with a short-lived principal token signed for the
component (`PrincipalSigner`, `front.py`). The console does the same for the service whose pages the admin is on:
it signs a principal for that service (no key id: the admin, not an API key, is acting, and the gateway's audit
log names them) and calls the component's internal address (`GATEWAY_NOTIFY_URL`, `GATEWAY_PAY_URL`) over the
front door's own HTTP session. That is the simplest sound way: no key has to be minted, stored or revealed for
the console, the component checks the token exactly as it checks forwarded calls, and the console only reaches a
service the admin's roles on it (`access.py`) allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from fastapi import Request

from gaap.context import current_request_id
from gaap.pages import PageError
from gaap.principal import Principal
from gateway.console.access import ServiceAccess

TIMEOUT = aiohttp.ClientTimeout(total=15.0)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def messages(self) -> list[str]:
        """The error messages of a platform or Notify error envelope."""
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [str(e.get("message", "")) for e in errors or () if isinstance(e, dict)]


class ServiceApi:
    """One component's API, called as one service with the given key type (None for the gateway's own calls to
    an internal API) and scopes."""

    def __init__(
        self, request: Request, access: ServiceAccess, component: str, key_type: str | None, scopes: frozenset[str]
    ) -> None:
        front = request.app.state.front
        self._signer = front.state.signer
        self._session: aiohttp.ClientSession = front.state.forwarder.session
        self._base = front.upstreams[component].rstrip("/")
        self._component = component
        self._principal = Principal(
            request_id=current_request_id(),
            service_id=str(access.service.id),
            key_type=key_type,
            scopes=scopes,
            organisation_id=str(access.organisation.id),
        )

    async def call(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> Answer:
        """The component's answer; the 503 page when it cannot be reached or fails (nothing the admin can fix)."""
        headers = {
            "X-Gaap-Principal": self._signer.sign(self._component, self._principal),
            "X-Request-ID": self._principal.request_id,
        }
        if json is not None:  # the forwarder's session adds no headers of its own
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, self._base + path, json=json, params=params, headers=headers, timeout=TIMEOUT
            ) as response:
                body = await response.json(content_type=None) if response.status != 204 else None
                answer = Answer(response.status, body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise PageError(status_code=503) from exc
        if answer.status >= 500:
            raise PageError(status_code=503)
        return answer


def notify_api(request: Request, access: ServiceAccess, key_type: str = "normal") -> ServiceApi:
    """Notify as the service: a live key's reach (a message sent from the console is a real one, as in GOV.UK
    Notify's own admin), or another key type's when reading its log, with the template-managing scope that the
    console's roles gate."""
    return ServiceApi(request, access, "notify", key_type, frozenset({"notify", "manage_templates"}))

"""Fixtures of the payment-link tests: pay's internal API as the gateway calls it (a principal with the internal
scope, for one service), and links made through it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gaap.internal import INTERNAL_SCOPE
from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from tests.gateway.conftest import MASTER
from tests.pay.conftest import PayRig, Tenant
from tests.pay.pages.conftest import browser_factory, payer  # noqa: F401  (fixtures)


class GatewayPrincipal(httpx.Auth):
    """Signs each request's principal as the gateway signs its own calls to a service's internal API."""

    def __init__(self, service_id: uuid.UUID, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})) -> None:
        self.service_id = service_id
        self.scopes = scopes
        self.signer = PrincipalSigner(parse_keyring(MASTER))

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        principal = Principal(request_id=uuid.uuid4().hex, service_id=str(self.service_id), scopes=self.scopes)
        request.headers["X-Gaap-Principal"] = self.signer.sign("pay", principal)
        yield request


class LinksApi:
    """One service's payment links on pay's internal API."""

    def __init__(self, rig: PayRig, tenant: Tenant, scopes: frozenset[str] = frozenset({INTERNAL_SCOPE})) -> None:
        self.rig = rig
        self.tenant = tenant
        self.client = httpx.Client(base_url=rig.pay_url, auth=GatewayPrincipal(tenant.service_id, scopes), timeout=30)

    def path(self, mode: str = "test", link_id: str = "") -> str:
        base = f"/internal/services/{self.tenant.service_id}/accounts/{mode}/payment-links"
        return f"{base}/{link_id}" if link_id else base

    def create(self, mode: str = "test", **document: Any) -> httpx.Response:
        return self.client.post(self.path(mode), json=document)

    def link(self, mode: str = "test", **document: Any) -> dict[str, Any]:
        """A new link (a fixed £12.00 with a generated reference unless `document` says otherwise)."""
        body = {"title": "Pay for a parking permit", "description": "Parking permit", "amount": 1200, **document}
        body.setdefault("service_slug", unique_slug("council"))
        response = self.create(mode, **{k: v for k, v in body.items() if v is not None})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def links(pay_rig: PayRig) -> Iterator[LinksApi]:
    api = LinksApi(pay_rig, pay_rig.main)
    yield api
    api.client.close()


def address(link: dict[str, Any]) -> str:
    """The link's public path (its `url` is on the gateway's origin, which the payer-browser strips)."""
    return f"/link/{link['service_slug']}/{link['slug']}"

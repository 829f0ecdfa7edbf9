"""The seed step of `gaap up`: the platform organisation and a demo organisation, idempotently.

- The platform organisation holds one service per calling component (identity, pay, console), each with a live
  Notify key, which `gaap up` hands to those components as `IDENTITY_NOTIFY_API_KEY`, `PAY_NOTIFY_API_KEY` and
  `GATEWAY_NOTIFY_API_KEY` (ARCHITECTURE, "Tenants and what flows between components").
- The platform's "GaaP console" service also holds the console's OIDC client (when `gaap up` passes its record):
  the console signs admins in through identity like any relying party, so its client is registered the same way,
  in the service's `settings["identity"]["clients"]`, and pushed to identity.
- The demo organisation has a live demo service with Notify keys of each type, a Pay test key, and the console
  admin as a team member with every role.

Running it again finds what exists by name and reuses it. Notify keys can be rebuilt from their encrypted secrets;
a Pay key is only ever known at creation, so the previous run's `demo.json` supplies it (or a new one is made).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.keys import repository as key_repo
from gateway.keys import service as keys
from gateway.keys.models import ApiKey
from gateway.keys.service import KeyMaterial
from gateway.tenants import repository as tenant_repo
from gateway.tenants import service as tenants
from gateway.tenants.models import ROLES, Organisation, Service

ACTOR = "seed"
PLATFORM_ORGANISATION = "GaaP platform"
PLATFORM_SERVICES = {"identity": "GaaP sign-in", "pay": "GaaP payments", "console": "GaaP console"}
DEMO_ORGANISATION = "Demo Department"
DEMO_SERVICE = "Demo service"


@dataclass
class SeedResult:
    organisation_id: str
    service_id: str
    notify_keys: dict[str, str]
    pay_test_key: str
    #: A live key with the `manage_templates` scope, for making the demo templates through notify's API.
    templates_key: str = ""
    platform_notify_keys: dict[str, str] = field(default_factory=dict)
    platform_service_ids: dict[str, str] = field(default_factory=dict)


async def _organisation(session: AsyncSession, name: str) -> Organisation:
    org = await tenant_repo.organisation_by_name(session, name)
    return org or await tenants.create_organisation(session, name=name, actor=ACTOR)


async def _service(session: AsyncSession, org: Organisation, name: str) -> Service:
    service = await tenant_repo.service_by_name(session, org.id, name)
    if service is None:
        service = await tenants.create_service(
            session, organisation_id=org.id, name=name, restricted=False, actor=ACTOR
        )
    return service


def _full_notify_key(material: KeyMaterial, key: ApiKey) -> str:
    secret = material.box.decrypt(key.secret_encrypted or "")
    return f"{key.name.replace(' ', '_')}-{key.service_id}-{secret}"


async def _notify_key(
    session: AsyncSession,
    material: KeyMaterial,
    service: Service,
    name: str,
    key_type: str,
    scopes: list[str] | None = None,
) -> str:
    existing = await key_repo.unrevoked_key_named(session, service.id, "notify", name)
    if existing is not None:
        return _full_notify_key(material, existing)
    _row, full = await keys.create_key(
        session,
        material,
        service_id=service.id,
        api="notify",
        name=name,
        key_type=key_type,
        actor=ACTOR,
        scopes=scopes,
    )
    return full


async def _pay_test_key(session: AsyncSession, material: KeyMaterial, service: Service, previous: str | None) -> str:
    row = await key_repo.key_by_hash(session, material.hash(previous)) if previous else None
    if previous and row is not None and not row.revoked and row.service_id == service.id:
        return previous
    name = f"demo pay test key {uuid.uuid4().hex[:6]}"
    _row, full = await keys.create_key(
        session, material, service_id=service.id, api="pay", name=name, key_type="test", actor=ACTOR
    )
    return full


async def seed(
    session: AsyncSession,
    material: KeyMaterial,
    *,
    console_email: str,
    previous: dict[str, Any] | None = None,
    console_client: dict[str, Any] | None = None,
) -> SeedResult:
    previous = previous or {}
    platform = await _organisation(session, PLATFORM_ORGANISATION)
    platform_keys: dict[str, str] = {}
    platform_ids: dict[str, str] = {}
    for component, name in PLATFORM_SERVICES.items():
        service = await _service(session, platform, name)
        platform_ids[component] = str(service.id)
        # With `manage_templates`: each component makes its own templates through notify's API (identity's code
        # emails, for one), so a new platform needs no step of its own.
        platform_keys[component] = await _notify_key(
            session, material, service, f"{component} live key", "normal", scopes=["manage_templates"]
        )
        if component == "console" and console_client is not None:
            await tenants.update_service(
                session, service.id, actor=ACTOR, settings={"identity": {"clients": [console_client]}}
            )

    demo_org = await _organisation(session, DEMO_ORGANISATION)
    demo = await _service(session, demo_org, DEMO_SERVICE)
    notify_keys = {
        "live_key": await _notify_key(session, material, demo, "demo live key", "normal"),
        "team_key": await _notify_key(session, material, demo, "demo team key", "team"),
        "test_key": await _notify_key(session, material, demo, "demo test key", "test"),
    }
    templates_key = await _notify_key(
        session, material, demo, "demo templates key", "normal", scopes=["manage_templates"]
    )
    pay_key = await _pay_test_key(session, material, demo, (previous.get("pay") or {}).get("test_key"))
    if await tenant_repo.active_member(session, demo.id, console_email) is None:
        await tenants.add_member(
            session, demo.id, email=console_email, name="Demo admin", roles=list(ROLES), actor=ACTOR
        )
    return SeedResult(
        organisation_id=str(demo_org.id),
        service_id=str(demo.id),
        notify_keys=notify_keys,
        pay_test_key=pay_key,
        templates_key=templates_key,
        platform_notify_keys=platform_keys,
        platform_service_ids=platform_ids,
    )

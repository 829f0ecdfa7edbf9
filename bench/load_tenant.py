"""The tenant a load runs as, for the scale-out bench and test and the reliability suite: one live, unrestricted
service whose rate and daily limits are out of the way, with a live Notify key, one that may manage templates, a Pay
test key, and a text template made through notify's API once the tenant has reached the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gaap.db.engine import Database
from gateway.demo_templates import NotifyKeyAuth
from gateway.keys.service import KeyMaterial, create_key
from gateway.settings import GatewaySettings
from gateway.sync.service import Pusher
from gateway.tenants import service as tenants

#: label -> (API, key type, scopes)
KEYS = {
    "live": ("notify", "normal", []),
    "manage": ("notify", "normal", ["manage_templates"]),
    "pay": ("pay", "test", []),
}


@dataclass
class Tenant:
    """The service the load runs as, its keys, and (once made) its text template."""

    service_id: uuid.UUID
    notify_key: str
    manage_key: str
    pay_key: str
    sms_template: str = ""


async def seed(settings: GatewaySettings, *, name: str, actor: str, pay: dict[str, Any]) -> Tenant:
    """Create the organisation, the service (Pay settings `pay`) and its keys in the gateway's database."""
    material = KeyMaterial.from_settings(settings)
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.write_session() as session:
            org = await tenants.create_organisation(session, name=f"{name} department", actor=actor)
            service = await tenants.create_service(
                session, organisation_id=org.id, name=f"{name} service", restricted=False, actor=actor
            )
            # The load must measure and exercise the platform, not its per-service limits.
            await tenants.update_service(
                session, service.id, actor=actor, rate_limit=1_000_000, pay_rate_tier="elevated",
                settings={"notify": {"sms_message_limit": 10_000_000, "email_message_limit": 10_000_000},
                          "pay": pay},
            )  # fmt: skip
            keys = {}
            for label, (api, key_type, scopes) in KEYS.items():
                _row, keys[label] = await create_key(
                    session, material, service_id=service.id, api=api, name=label, key_type=key_type,
                    scopes=scopes, actor=actor,
                )  # fmt: skip
    finally:
        await db.dispose()
    return Tenant(service.id, keys["live"], keys["manage"], keys["pay"])


async def push(settings: GatewaySettings, upstreams: dict[str, str], tenant: Tenant) -> dict[str, int]:
    """Deliver the tenant's pending pushes to the services now; how many ended in each outcome."""
    db = Database(settings.database_url, pool_size=1)
    pusher = Pusher(db, upstreams, settings.principal_signer())
    try:
        return await pusher.deliver_pending(tenant.service_id)
    finally:
        await pusher.close()
        await db.dispose()


def make_sms_template(base_url: str, tenant: Tenant, *, name: str, timeout: float) -> None:
    """Make the tenant's text template through notify's API (with the manage key), and note its id."""
    with httpx.Client(base_url=base_url, auth=NotifyKeyAuth(tenant.manage_key), timeout=timeout) as api:
        made = api.post("/v2/manage-template", json={"name": name, "type": "sms", "body": "Your reference is ((ref))"})
    if made.status_code != 201:
        raise RuntimeError(f"notify refused the template: {made.status_code} {made.text[:500]}")
    tenant.sms_template = made.json()["id"]

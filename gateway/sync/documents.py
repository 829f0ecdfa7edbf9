"""What each service is told about a tenant. The gateway does not interpret a component's own settings
(`Service.settings[<component>]`): the component validates them and refuses a document it cannot accept."""

from __future__ import annotations

from typing import Any

from gateway.tenants.models import Service, TeamMember


def notify_service_document(service: Service, team: list[TeamMember], version: int) -> dict[str, Any]:
    return {
        "version": version,
        "name": service.name,
        "organisation_id": str(service.organisation_id),
        "active": service.active and service.archived_at is None,
        "restricted": service.restricted,
        "rate_limit": service.rate_limit,
        "team": [{"email": m.email, "mobile_number": m.mobile_number} for m in team if m.removed_at is None],
        "settings": dict((service.settings or {}).get("notify", {})),
    }


def pay_service_document(service: Service, team: list[TeamMember], version: int) -> dict[str, Any]:
    """The service's test and live accounts: `settings["pay"]` holds the account settings of pay spec §3."""
    return {
        "version": version,
        "name": service.name,
        "organisation_id": str(service.organisation_id),
        "active": service.active and service.archived_at is None,
        "settings": dict((service.settings or {}).get("pay", {})),
    }


#: component -> (internal path for a service, document builder)
DOCUMENTS = {
    "notify": ("/internal/services/{id}", notify_service_document),
    "pay": ("/internal/services/{id}", pay_service_document),
}

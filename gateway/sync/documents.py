"""What each service is told about a tenant. The gateway does not interpret a component's own settings
(`Service.settings[<component>]`): the component validates them and refuses a document it cannot accept."""

from __future__ import annotations

from collections.abc import Callable
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


def _settings_document(component: str) -> Callable[[Service, list[TeamMember], int], dict[str, Any]]:
    """The document of a component that needs only the service's identity and its own settings: pay's accounts
    (`settings["pay"]`, pay spec §3), identity's clients (`settings["identity"]`, `{"clients": [...]}`)."""

    def document(service: Service, team: list[TeamMember], version: int) -> dict[str, Any]:
        return {
            "version": version,
            "name": service.name,
            "organisation_id": str(service.organisation_id),
            "active": service.active and service.archived_at is None,
            "settings": dict((service.settings or {}).get(component, {})),
        }

    return document


#: component -> (internal path for a service, document builder)
DOCUMENTS = {
    "notify": ("/internal/services/{id}", notify_service_document),
    "pay": ("/internal/services/{id}", _settings_document("pay")),
    "identity": ("/internal/services/{id}", _settings_document("identity")),
}


def path_of(component: str, service_id: object) -> str:
    """The path of a service's resource on `component`'s internal API."""
    return DOCUMENTS[component][0].format(id=service_id)

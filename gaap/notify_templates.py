"""A component's own Notify templates, provisioned through notify's public API with the platform's SDK.

The platform's components send email through notify as any department does (ARCHITECTURE: "Services never import
each other"), each with the live Notify key of its own service in the platform organisation. Those keys carry the
`manage_templates` scope, so a component finds each template it needs by name among its service's templates and
creates it when it is missing: neither `gaap up` nor a deployment needs a step that copies template ids between
components. Identity's code email, the console's invitation and pay's confirmation emails all do it this way.

A template found by name is used as it is: changing a template's wording is done in notify (or under a new name).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gaap_client import AsyncNotifyClient

from gaap.logging import get_logger

log = get_logger("gaap.notify_templates")


@dataclass(frozen=True)
class TemplateSpec:
    """What a component's template says; `name` is how the component finds it again."""

    name: str
    body: str
    subject: str | None = None
    template_type: str = "email"
    #: `priority` puts the template's messages on notify's priority lane (identity's codes); None: notify's default.
    process_type: str | None = None


class OwnTemplates:
    """The ids of one component's templates, found or made once per process and then remembered.

    `configured` maps a template's name to an id the operator set (e.g. `IDENTITY_NOTIFY_TEMPLATE_EMAIL_CODE`),
    which is used without asking notify. A lock keeps two concurrent first sends of one process from making the
    same template twice.
    """

    def __init__(self, configured: dict[str, str] | None = None) -> None:
        self.ids: dict[str, str] = {name: ident for name, ident in (configured or {}).items() if ident}
        self._lock = asyncio.Lock()

    async def id_of(self, client: AsyncNotifyClient, spec: TemplateSpec) -> str:
        """The id of `spec`'s template in the client's service: remembered, found by name, or created."""
        if spec.name in self.ids:
            return self.ids[spec.name]
        async with self._lock:
            if spec.name not in self.ids:
                self.ids[spec.name] = await self._find_or_create(client, spec)
        return self.ids[spec.name]

    @staticmethod
    async def _find_or_create(client: AsyncNotifyClient, spec: TemplateSpec) -> str:
        found = [t["id"] for t in await client.templates(template_type=spec.template_type) if t["name"] == spec.name]
        if found:
            return str(found[0])
        made = await client.create_template(
            spec.name, spec.template_type, spec.body, subject=spec.subject, process_type=spec.process_type
        )
        log.info("notify template created", template=spec.name, template_id=made["id"])
        return str(made["id"])

"""The demo service's Notify templates, made through notify's own API as any department would make them.

`gaap up` calls `ensure_demo_templates` once every role answers: it tells notify about the demo service (the
tenant push), then finds each template by name or creates it, so a second run reuses the first run's templates.
"""

from __future__ import annotations

from typing import Any

import httpx
from notifications_python_client.authentication import create_jwt_token

#: Each uses at least one placeholder and one optional (`??`) paragraph.
DEMO_TEMPLATES: dict[str, dict[str, Any]] = {
    "email": {
        "name": "Demo: appointment confirmation",
        "type": "email",
        "subject": "Your appointment on ((date))",
        "body": "# Hello ((name))\n\nYour appointment is confirmed for ((date)).\n\n"
        "((urgent??^ Please arrive 10 minutes early.))\n\nThank you.",
    },
    "sms": {
        "name": "Demo: security code",
        "type": "sms",
        "body": "Your security code is ((code)).((reminder?? It expires in 15 minutes.))",
    },
    "letter": {
        "name": "Demo: licence letter",
        "type": "letter",
        "subject": "Your licence ((licence number))",
        "body": "Dear ((name)),\n\nYour licence ((licence number)) is enclosed.\n\n"
        "((renewal??You can renew it online at any time.))",
        "postage": "second",
    },
}


class NotifyKeyAuth(httpx.Auth):
    """A fresh Notify JWT on every request, as the official client signs them."""

    def __init__(self, key: str) -> None:
        self.key = key

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = "Bearer " + create_jwt_token(self.key[-36:], self.key[-73:-37])
        yield request


async def ensure_demo_templates(gateway_url: str, manage_key: str) -> dict[str, str]:
    """Template ids by channel (`email_template_id`, ...), creating those that do not exist yet."""
    async with httpx.AsyncClient(base_url=gateway_url, auth=NotifyKeyAuth(manage_key), timeout=10) as client:
        listed = await client.get("/v2/templates")
        listed.raise_for_status()
        by_name = {t["name"]: t["id"] for t in listed.json()["templates"]}
        ids: dict[str, str] = {}
        for channel, template in DEMO_TEMPLATES.items():
            template_id = by_name.get(template["name"])
            if template_id is None:
                created = await client.post("/v2/manage-template", json=template)
                created.raise_for_status()
                template_id = created.json()["id"]
            ids[f"{channel}_template_id"] = template_id
    return ids

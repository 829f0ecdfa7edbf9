"""Identity sends its codes through the platform's notify with the platform's SDK, and provisions its own template
when none is configured: found by name, or made once."""

from __future__ import annotations

import uuid

import pytest

from services.identity.accounts.notify import EMAIL_CODE_TEMPLATE, NotifyClient, NotifyUnavailable
from tests.notify.conftest import NotifyRig, manage


async def test_a_code_is_sent_and_the_template_made_once(notify_rig: NotifyRig) -> None:
    first = NotifyClient(notify_rig.url, notify_rig.keys["manage"], timeout=10)
    second = NotifyClient(notify_rig.url, notify_rig.keys["manage"], timeout=10)
    try:
        sent = await first.send_email_code("someone@example.gov.uk", {"code": "123456", "expiry_minutes": "15"}, "t")
        await second.send_email_code("someone@example.gov.uk", {"code": "654321", "expiry_minutes": "15"}, "t")
        name = EMAIL_CODE_TEMPLATE.name
        assert first.templates.ids[name] == second.templates.ids[name]  # the second found the first's by name
    finally:
        await first.close()
        await second.close()
    with manage(notify_rig.url, notify_rig.keys["manage"]) as api:
        named = [t for t in api.get("/v2/templates").json()["templates"] if t["name"] == EMAIL_CODE_TEMPLATE.name]
        notification = api.get(f"/v2/notifications/{sent}").json()
    assert len(named) == 1
    assert "Your security code is 123456." in notification["body"]


async def test_without_a_key_or_with_a_refused_send_the_page_is_told(notify_rig: NotifyRig) -> None:
    unconfigured = NotifyClient(notify_rig.url, "", timeout=5)
    with pytest.raises(NotifyUnavailable):
        await unconfigured.send_email_code("someone@example.gov.uk", {"code": "1", "expiry_minutes": "1"}, "t")
    wrong = NotifyClient(notify_rig.url, notify_rig.keys["live"], timeout=5, template_id=str(uuid.uuid4()))
    try:
        with pytest.raises(NotifyUnavailable):  # notify refuses: Template not found
            await wrong.send_email_code("someone@example.gov.uk", {"code": "1", "expiry_minutes": "1"}, "t")
    finally:
        await wrong.close()

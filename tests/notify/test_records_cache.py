"""Sends read the service and the template from a per-process cache (`services.notify.records`); a change made
through one notify process is seen by another at once, through the Redis announcement, not after the cache's TTL."""

from __future__ import annotations

import time
import uuid

import httpx

from gaap.principal import Principal, PrincipalSigner
from gaap.settings import parse_keyring
from services.notify.app import create_app as create_notify
from tests.gateway.conftest import MASTER
from tests.notify.conftest import NotifyRig, manage, notify_settings
from tests.support import serve_in_thread


def send_directly(url: str, rig: NotifyRig, template_id: str) -> httpx.Response:
    """A send on one notify process, with the principal token the gateway would have signed."""
    principal = Principal(request_id=str(uuid.uuid4()), service_id=str(rig.service_id), key_type="test")
    token = PrincipalSigner(parse_keyring(MASTER)).sign("notify", principal)
    body = {
        "email_address": "someone@example.gov.uk",
        "template_id": template_id,
        "personalisation": {"name": "Ada", "date": "today"},
    }
    return httpx.post(f"{url}/v2/notifications/email", json=body, headers={"X-Gaap-Principal": token})


def test_a_template_change_reaches_another_process_at_once(notify_rig: NotifyRig) -> None:
    with manage(notify_rig.url, notify_rig.keys["manage"]) as api:
        made = api.post(
            "/v2/manage-template",
            json={"name": f"Cached {uuid.uuid4().hex[:8]}", "type": "email", "subject": "Hi", "body": "First ((name))"},
        )
        assert made.status_code == 201, made.text
        template_id = made.json()["id"]

        other = create_notify(notify_settings(notify_rig.notify_db, notify_rig.redis_url, notify_rig.url))
        with serve_in_thread(other) as other_url:
            other.state.records.cache.ttl = 3600  # only the announcement can make it forget
            first = send_directly(other_url, notify_rig, template_id)
            assert first.status_code == 201, first.text
            assert (first.json()["template"]["version"], first.json()["content"]["body"]) == (1, "First Ada")

            changed = api.patch(f"/v2/manage-template/{template_id}", json={"body": "Second ((name))"})
            assert changed.status_code == 200, changed.text

            deadline = time.monotonic() + 5
            while True:
                again = send_directly(other_url, notify_rig, template_id)
                assert again.status_code == 201, again.text
                if again.json()["template"]["version"] == 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert (again.json()["template"]["version"], again.json()["content"]["body"]) == (2, "Second Ada")

"""Texts in `gaap up` (embedded mode, SQLite and Valkey): a live text reaches the fake SMS provider, its receipt comes
back through the gateway and ends `delivered`, and a text sent to the demo service's inbound number is listed."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from notifications_python_client.notifications import NotificationsAPIClient

from tests.embedded.test_up import start, stop, wait_for_templates, wait_ready
from tests.notify.conftest import manage
from tests.support import free_port

pytestmark = pytest.mark.embedded


def poll(check: Any, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise TimeoutError("gave up waiting")


def test_texts_are_delivered_and_received_in_gaap_up(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port)
    try:
        wait_ready(url, proc)
        demo = wait_for_templates(tmp_path / "demo.json", proc)
        api = NotificationsAPIClient(demo["notify"]["live_key"], base_url=url)
        sent = api.send_sms_notification(
            "07700 900123", demo["notify"]["sms_template_id"], personalisation={"code": "123456", "reminder": "yes"}
        )
        done = poll(lambda: (got := api.get_notification_by_id(sent["id"]))["status"] == "delivered" and got)
        assert done["sent_at"] is not None
        with manage(url, demo["notify"]["live_key"]) as developer:  # the developer inbox shows what the fake got
            inbox = developer.get("/v2/inbox/texts")
        assert inbox.status_code == 200
        assert [m["id"] for m in inbox.json()["texts"]][:1] == [sent["id"]]

        content = f"STOP {uuid.uuid4().hex[:6]}"
        texted = httpx.post(
            f"{demo['fake_sms_url']}/mmg/inbound",
            json={"to": demo["notify"]["inbound_number"], "from": "07700900456", "content": content},
            timeout=30,
        )
        assert texted.status_code == 200, texted.text
        received = api.get_received_texts()["received_text_messages"]
        assert [(t["content"], t["user_number"]) for t in received][:1] == [(content, "447700900456")]
    finally:
        if proc.poll() is None:
            code, output = stop(proc, signal.SIGINT)
            assert code == 0, output

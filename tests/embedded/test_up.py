"""`gaap up` end to end in embedded mode: Valkey, SQLite, every role supervised, and nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.identity.support import Browser, Person, RelyingParty, code_from
from tests.support import free_port

pytestmark = pytest.mark.embedded


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GAAP_", "GATEWAY_", "NOTIFY_", "PAY_", "IDENTITY_"))
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gaap.cli.main", "up", "--port", str(port), "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("gaap up did not become ready")


def wait_for_templates(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> dict:  # type: ignore[type-arg]
    """The demo templates are made once every role answers; demo.json is rewritten with their ids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None
        document = json.loads(path.read_text())
        if "email_template_id" in document.get("notify", {}):
            return document  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise TimeoutError("demo templates were not created")


def stop(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str]:
    below = descendants(proc.pid)
    assert below, "gaap up should have child processes"
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in below if alive(p)]
    assert not left, f"processes left behind: {left}"
    return proc.returncode, output.decode()


def test_up_serves_seeds_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port)
    try:
        wait_ready(url, proc)
        demo = wait_for_templates(tmp_path / "demo.json", proc)
        assert demo["gateway_url"] == url
        assert demo["console"]["url"] == f"{url}/console"
        assert demo["console"]["email"] and demo["console"]["password"]
        assert set(demo["notify"]) >= {"live_key", "team_key", "test_key"}
        assert demo["pay"]["test_key"].startswith("api_test_")
        assert demo["pay"]["return_url"] == f"{url}/console/services/{demo['service_id']}/payments"
        assert (tmp_path / "gateway.db").exists()
        assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"

        assert demo["notify"]["inbox_url"] == f"{url}/v2/inbox/emails"
        # The official client sends with the demo keys and templates, through the gateway.
        client = NotificationsAPIClient(demo["notify"]["live_key"], base_url=url)
        sent = client.send_email_notification(
            "someone@example.com",
            demo["notify"]["email_template_id"],
            personalisation={"name": "Ada", "date": "1 May", "urgent": "yes"},
        )
        assert "Please arrive 10 minutes early." in sent["content"]["body"]
        assert client.get_notification_by_id(sent["id"])["status"] in {"created", "sending", "delivered"}
        template = client.get_template(demo["notify"]["sms_template_id"])
        assert template["personalisation"] == {"code": {"required": True}, "reminder": {"required": True}}
        with pytest.raises(HTTPError) as raised:
            client.get("/v2/not-a-real-endpoint")
        assert raised.value.status_code == 404
        bad = NotificationsAPIClient(demo["notify"]["test_key"][:-4] + "0000", base_url=url)
        with pytest.raises(HTTPError) as raised:
            bad.get("/v2/notifications")
        assert raised.value.status_code == 403
        pay = httpx.get(f"{url}/v1/payments/nope", headers={"Authorization": "Bearer " + demo["pay"]["test_key"]})
        assert pay.status_code == 404
        assert pay.json() == {"code": "P0200", "description": "Not found"}  # a malformed id: the endpoint's 404
        signs_in_with_the_demo_client(demo)
    finally:
        if proc.poll() is None:
            code, output = stop(proc, signal.SIGINT)
            assert code == 0, output
    assert "GaaP is running." in output
    assert demo["console"]["password"] in output

    # A second run reuses the seed: same ids and keys, nothing duplicated.
    proc = start(tmp_path, port)
    try:
        wait_ready(url, proc)
        again = wait_for_templates(tmp_path / "demo.json", proc)
        assert again["service_id"] == demo["service_id"]
        assert again["notify"]["email_template_id"] == demo["notify"]["email_template_id"]
        assert again["notify"] == demo["notify"]
        assert again["pay"]["test_key"] == demo["pay"]["test_key"]
        assert again["identity"] == demo["identity"]
        signs_in_with_the_demo_client(again)  # the account and the client survive a restart
    finally:
        if proc.poll() is None:
            stop(proc, signal.SIGTERM)


def signs_in_with_the_demo_client(demo: dict[str, Any]) -> None:
    """What demo.json promises a developer: the demo client signs the demo user in at `Cl.Cm` (password and TOTP)
    through identity's pages, and its code is exchanged with `private_key_jwt` for a valid ID token."""
    identity = demo["identity"]
    assert identity["issuer"] == demo["gateway_url"] + "/"
    rp = RelyingParty(
        identity["client"]["client_id"],
        identity["issuer"],
        redirect_uri=identity["client"]["redirect_uri"],
        key=jwt.PyJWK(identity["client"]["private_key_jwk"]).key,
        kid="",
    )
    user = identity["user"]
    assert user["email"] == demo["console"]["email"] and user["password"] == demo["console"]["password"]
    browser = Browser(demo["gateway_url"])
    try:
        browser.authorize(rp, vtr='["Cl.Cm"]')
        back = browser.sign_in(Person(user["email"], user["password"], user["totp_secret"]))
        assert back.headers["location"].startswith(rp.redirect_uri), back.text[:500]
        answer = code_from(back.headers["location"])
        assert answer["state"] == rp.state
        tokens = httpx.post(f"{demo['gateway_url']}/token", data=rp.token_form(answer["code"]), timeout=10)
        assert tokens.status_code == 200, tokens.text
        jwks = httpx.get(f"{demo['gateway_url']}/.well-known/jwks.json", timeout=10).json()
        claims = rp.verify_id_token(tokens.json()["id_token"], jwks)
        assert claims["vot"] == "Cl.Cm"
    finally:
        browser.close()

"""Small builders shared by the bulk tests."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import httpx
from notifications_python_client.authentication import create_jwt_token

from gaap.principal import PRINCIPAL_HEADER, Principal, PrincipalSigner
from gaap.settings import parse_keyring
from tests.gateway.conftest import MASTER
from tests.notify.conftest import NotifyRig


def headers(rig: NotifyRig, key: str = "test") -> dict[str, str]:
    full = rig.keys[key]
    return {"Authorization": "Bearer " + create_jwt_token(full[-36:], full[-73:-37])}


def encoded_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return base64.b64encode(out.getvalue().encode()).decode()


def sms_rows(count: int, number: str = "07700900123") -> list[list[str]]:
    return [["phone number", "name", "code"], *([number, f"Ada {n}", str(n)] for n in range(count))]


def post_bulk(rig: NotifyRig, body: dict[str, Any], key: str = "test") -> httpx.Response:
    return httpx.post(f"{rig.url}/v2/notifications/bulk", json=body, headers=headers(rig, key), timeout=120)


def get_job(rig: NotifyRig, job_id: str, key: str = "test") -> httpx.Response:
    return httpx.get(f"{rig.url}/v2/jobs/{job_id}", headers=headers(rig, key))


def post_to_notify(rig: NotifyRig, body: dict[str, Any], key_type: str = "test") -> httpx.Response:
    """Straight to notify, as the gateway would forward it, without the test gateway's 1-second upstream timeout
    (production's is 30 s): for the large jobs."""
    signer = PrincipalSigner(parse_keyring(MASTER))
    principal = Principal(request_id="bulk-test", service_id=str(rig.service_id), key_type=key_type)
    token = signer.sign("notify", principal)
    return httpx.post(
        f"{rig.notify_url}/v2/notifications/bulk", json=body, headers={PRINCIPAL_HEADER: token}, timeout=300
    )

"""Pay-style bearer keys at the gateway: a bare 401 with `WWW-Authenticate: Bearer` for every failure."""

from __future__ import annotations

import httpx
import pytest

from gateway.keys.formats import pay_key, pay_key_mode
from tests.gateway.conftest import GatewayRig


def get(rig: GatewayRig, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(f"{rig.url}/v1/payments", headers=headers)


def assert_unauthorised(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.content == b""


@pytest.mark.parametrize("label,mode", [("pay_test", "test"), ("pay_live", "live")])
def test_valid_key_is_replaced_by_the_principal(rig: GatewayRig, label: str, mode: str) -> None:
    response = get(rig, "Bearer " + rig.tenant.keys[label])
    assert response.status_code == 200
    body = response.json()
    assert body["audience"] == "pay"
    assert body["principal"]["service_id"] == str(rig.tenant.service_id)
    assert body["principal"]["key_type"] == mode
    assert body["principal"]["key_id"] == str(rig.tenant.key_ids[label])
    assert "authorization" not in body["headers"]


def test_key_format(rig: GatewayRig) -> None:
    secret = rig.settings.pay_key_checksum_secret.get_secret_value().encode()
    key = rig.tenant.keys["pay_test"]
    assert len(key) == 67 and key.startswith("api_test_")
    assert pay_key_mode(key, secret) == "test"
    assert rig.tenant.keys["pay_live"].startswith("api_live_")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic abc", "Bearer", "Bearer api_test_short", "Bearer " + "api_test_" + "a" * 58],
)
def test_malformed(rig: GatewayRig, authorization: str | None) -> None:
    assert_unauthorised(get(rig, authorization))


def test_bad_checksum(rig: GatewayRig) -> None:
    key = rig.tenant.keys["pay_test"]
    tampered = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert_unauthorised(get(rig, f"Bearer {tampered}"))


def test_well_formed_but_unknown_key(rig: GatewayRig) -> None:
    secret = rig.settings.pay_key_checksum_secret.get_secret_value().encode()
    assert_unauthorised(get(rig, "Bearer " + pay_key("test", secret)))


def test_prefix_must_match_the_mode(rig: GatewayRig) -> None:
    key = rig.tenant.keys["pay_test"]
    assert_unauthorised(get(rig, "Bearer " + key.replace("api_test_", "api_live_", 1)))


def test_revoked_key(rig: GatewayRig) -> None:
    assert_unauthorised(get(rig, "Bearer " + rig.tenant.keys["pay_revoked"]))


def test_notify_key_on_pay_path(rig: GatewayRig) -> None:
    assert_unauthorised(get(rig, "Bearer " + rig.tenant.keys["notify_test"]))


def test_v1_auth_needs_no_key(rig: GatewayRig) -> None:
    response = httpx.post(f"{rig.url}/v1/auth", json={"one_time_token": "x"})
    assert response.status_code == 200
    assert response.json()["principal"]["service_id"] is None

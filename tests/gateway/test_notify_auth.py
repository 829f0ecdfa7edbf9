"""Notify-style key authentication at the gateway: GOV.UK Notify's order and exact texts (notify spec §3.2)."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.gateway.conftest import GatewayRig

GENERIC = (
    "Invalid token: make sure your API token matches the example at "
    "https://docs.notifications.service.gov.uk/rest-api.html#authorisation-header"
)


def secret_of(key: str) -> str:
    return key[-36:]


def token(secret: str, iss: object, *, iat: object = "now", alg: str = "HS256", **claims: object) -> str:
    payload: dict[str, object] = {"iss": iss, **claims}
    if iat == "now":
        payload["iat"] = int(time.time())
    elif iat is not None:
        payload["iat"] = iat
    return jwt.encode(payload, secret, algorithm=alg)


def call(rig: GatewayRig, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(f"{rig.url}/v2/notifications", headers=headers)


def assert_auth_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"status_code": status, "errors": [{"error": "AuthError", "message": message}]}
    assert response.headers["x-request-id"]


def test_official_client_is_authenticated_and_forwarded(rig: GatewayRig) -> None:
    client = NotificationsAPIClient(rig.tenant.keys["notify_test"], base_url=rig.url)
    # Notify's own API lands later; the echo upstream answers with what reached it.
    response = client.get("/v2/notifications")
    principal = response["principal"]
    assert principal["service_id"] == str(rig.tenant.service_id)
    assert principal["key_id"] == str(rig.tenant.key_ids["notify_test"])
    assert principal["key_type"] == "test"
    assert principal["scopes"] == ["notify"]
    assert principal["organisation_id"] == str(rig.tenant.organisation_id)
    assert "authorization" not in response["headers"], "services never see an API key"
    assert response["headers"]["user-agent"].startswith("NOTIFY-API-PYTHON-CLIENT/")


@pytest.mark.parametrize("label,key_type", [("notify_live", "normal"), ("notify_team", "team")])
def test_each_key_type_reaches_the_service(rig: GatewayRig, label: str, key_type: str) -> None:
    client = NotificationsAPIClient(rig.tenant.keys[label], base_url=rig.url)
    assert client.get("/v2/notifications")["principal"]["key_type"] == key_type


def test_missing_header(rig: GatewayRig) -> None:
    assert_auth_error(call(rig, None), 401, "Unauthorized: authentication token must be provided")


def test_wrong_scheme(rig: GatewayRig) -> None:
    assert_auth_error(call(rig, "Basic dXNlcjpwYXNz"), 401, "Unauthorized: authentication bearer scheme must be used")


def test_scheme_is_case_insensitive(rig: GatewayRig) -> None:
    key = rig.tenant.keys["notify_test"]
    response = call(rig, "bEaReR " + token(secret_of(key), str(rig.tenant.service_id)))
    assert response.status_code == 200


def test_undecodable_token(rig: GatewayRig) -> None:
    assert_auth_error(call(rig, "Bearer not-a-jwt"), 403, GENERIC)


def test_missing_iss(rig: GatewayRig) -> None:
    bad = jwt.encode({"iat": int(time.time())}, "x" * 36, algorithm="HS256")
    assert_auth_error(call(rig, f"Bearer {bad}"), 403, "Invalid token: iss field not provided")


def test_iss_not_a_uuid(rig: GatewayRig) -> None:
    assert_auth_error(
        call(rig, "Bearer " + token("x" * 36, "not-a-uuid")),
        403,
        "Invalid token: service id is not the right data type",
    )


def test_unknown_service(rig: GatewayRig) -> None:
    assert_auth_error(
        call(rig, "Bearer " + token("x" * 36, str(uuid.uuid4()))), 403, "Invalid token: service not found"
    )


def test_wrong_algorithm_is_refused_before_any_signature(rig: GatewayRig) -> None:
    key = rig.tenant.keys["notify_test"]
    bad = token(secret_of(key) * 2, str(rig.tenant.service_id), alg="HS512")
    assert_auth_error(call(rig, f"Bearer {bad}"), 403, "Invalid token: algorithm used is not HS256")


def test_alg_none_is_refused(rig: GatewayRig) -> None:
    unsigned = jwt.encode({"iss": str(rig.tenant.service_id), "iat": int(time.time())}, None, algorithm="none")
    assert_auth_error(call(rig, f"Bearer {unsigned}"), 403, "Invalid token: algorithm used is not HS256")


# Clear of the 30 s edge by more than a slow test machine's delay between minting and checking (the exact edge is
# checked with a frozen clock in test_notify_token_paths.py).
@pytest.mark.parametrize("skew", [-36, 36, -3600])
def test_stale_or_future_iat(rig: GatewayRig, skew: int) -> None:
    key = rig.tenant.keys["notify_test"]
    stale = token(secret_of(key), str(rig.tenant.service_id), iat=int(time.time()) + skew)
    assert_auth_error(
        call(rig, f"Bearer {stale}"), 403, "Error: Your system clock must be accurate to within 30 seconds"
    )


def test_iat_within_30_seconds_is_accepted(rig: GatewayRig) -> None:
    key = rig.tenant.keys["notify_test"]
    ok = token(secret_of(key), str(rig.tenant.service_id), iat=int(time.time()) - 20)
    assert call(rig, f"Bearer {ok}").status_code == 200


def test_missing_iat_matches_no_key(rig: GatewayRig) -> None:
    key = rig.tenant.keys["notify_test"]
    no_iat = token(secret_of(key), str(rig.tenant.service_id), iat=None)
    assert_auth_error(call(rig, f"Bearer {no_iat}"), 403, "Invalid token: API key not found")


def test_expired_exp_gets_the_generic_message(rig: GatewayRig) -> None:
    key = rig.tenant.keys["notify_test"]
    expired = token(secret_of(key), str(rig.tenant.service_id), exp=int(time.time()) - 100)
    assert_auth_error(call(rig, f"Bearer {expired}"), 403, GENERIC)


def test_unknown_key(rig: GatewayRig) -> None:
    unknown = token(str(uuid.uuid4()), str(rig.tenant.service_id))
    assert_auth_error(call(rig, f"Bearer {unknown}"), 403, "Invalid token: API key not found")


def test_revoked_key(rig: GatewayRig) -> None:
    client = NotificationsAPIClient(rig.tenant.keys["notify_revoked"], base_url=rig.url)
    with pytest.raises(HTTPError) as raised:
        client.get("/v2/notifications")
    assert raised.value.status_code == 403
    assert raised.value.message == [{"error": "AuthError", "message": "Invalid token: API key revoked"}]


def test_pay_key_on_notify_path_is_refused(rig: GatewayRig) -> None:
    assert_auth_error(call(rig, "Bearer " + rig.tenant.keys["pay_test"]), 403, GENERIC)


def test_versions_route_is_notify_authenticated(rig: GatewayRig) -> None:
    path = f"{rig.url}/service/{rig.tenant.service_id}/template/{uuid.uuid4()}/versions"
    response = httpx.get(path)
    assert_auth_error(response, 401, "Unauthorized: authentication token must be provided")

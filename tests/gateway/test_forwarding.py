"""What crosses the gateway: request ids, headers, bodies, and the family's answer when something fails."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from tests.gateway.conftest import GatewayRig, closed_port_url


def notify_auth(rig: GatewayRig) -> dict[str, str]:
    from notifications_python_client.authentication import create_jwt_token

    key = rig.tenant.keys["notify_test"]
    return {"Authorization": "Bearer " + create_jwt_token(key[-36:], key[-73:-37])}


def pay_auth(rig: GatewayRig) -> dict[str, str]:
    return {"Authorization": "Bearer " + rig.tenant.keys["pay_test"]}


def test_request_id_is_made_sent_upstream_and_echoed(rig: GatewayRig) -> None:
    response = httpx.get(f"{rig.url}/v1/payments", headers=pay_auth(rig))
    rid = response.headers["x-request-id"]
    assert len(rid) >= 16
    body = response.json()
    assert body["headers"]["x-request-id"] == rid
    assert body["principal"]["request_id"] == rid


def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(rig: GatewayRig) -> None:
    kept = httpx.get(f"{rig.url}/v1/payments", headers={**pay_auth(rig), "X-Request-ID": "client-req-12345"})
    assert kept.headers["x-request-id"] == "client-req-12345"
    assert kept.json()["principal"]["request_id"] == "client-req-12345"
    replaced = httpx.get(f"{rig.url}/v1/payments", headers={**pay_auth(rig), "X-Request-ID": "bad id <script>"})
    assert replaced.headers["x-request-id"] != "bad id <script>"


def test_a_request_id_on_gateway_errors_too(rig: GatewayRig) -> None:
    response = httpx.get(f"{rig.url}/v2/notifications")
    assert response.status_code == 401
    assert response.headers["x-request-id"]


def test_client_cannot_forge_a_principal_or_smuggle_hop_by_hop_headers(rig: GatewayRig) -> None:
    forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldmlsIn0.x"
    response = httpx.get(
        f"{rig.url}/v1/payments",
        headers={
            **pay_auth(rig),
            "X-Gaap-Principal": forged,
            "Proxy-Authorization": "secret",
            "TE": "trailers",
        },
    )
    seen = response.json()["headers"]
    assert seen["x-gaap-principal"] != forged
    assert "proxy-authorization" not in seen
    assert "te" not in seen
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert "connection" not in response.headers or response.headers["connection"] != "keep-alive, close"


def test_query_string_and_method_pass_through(rig: GatewayRig) -> None:
    response = httpx.delete(f"{rig.url}/v1/payments/abc?x=1&y=%20z", headers=pay_auth(rig))
    body = response.json()
    assert body["method"] == "DELETE"
    assert body["path"] == "/v1/payments/abc"
    assert body["query"] == "x=1&y=%20z"
    assert response.headers["x-upstream"] == "pay"


def test_large_body_streams_through_unchanged(rig: GatewayRig) -> None:
    payload = os.urandom(5 * 1024 * 1024)
    response = httpx.post(f"{rig.url}/v1/payments", headers=pay_auth(rig), content=payload, timeout=30)
    body = response.json()
    assert body["body_len"] == len(payload)
    assert body["body_sha256"] == hashlib.sha256(payload).hexdigest()


def test_chunked_body_without_length_streams_through(rig: GatewayRig) -> None:
    parts = [os.urandom(300_000) for _ in range(4)]
    response = httpx.post(f"{rig.url}/v1/payments", headers=pay_auth(rig), content=iter(parts), timeout=30)
    assert response.json()["body_sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_large_response_streams_back(rig: GatewayRig) -> None:
    response = httpx.get(f"{rig.url}/v1/big-response?n=2000000", headers=pay_auth(rig), timeout=30)
    assert response.status_code == 200
    assert len(response.content) == 2_000_000


def test_oversized_body_is_refused_in_notify_format(rig: GatewayRig) -> None:
    response = httpx.post(
        f"{rig.url}/v2/notifications/sms",
        headers=notify_auth(rig),
        content=b"x" * (rig.settings.max_body_bytes + 1),
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json() == {
        "status_code": 413,
        "errors": [{"error": "BadRequestError", "message": "Request body is too large"}],
    }


def test_oversized_chunked_body_is_refused_in_pay_format(rig: GatewayRig) -> None:
    chunk = b"x" * (1024 * 1024)
    count = rig.settings.max_body_bytes // len(chunk) + 2
    response = httpx.post(f"{rig.url}/v1/payments", headers=pay_auth(rig), content=iter([chunk] * count), timeout=30)
    assert response.status_code == 413
    assert response.json()["code"] == "P0920"


def test_internal_paths_are_never_routed(rig: GatewayRig) -> None:
    for path in ("/internal", "/internal/services/x", "/internal/clients"):
        response = httpx.put(f"{rig.url}{path}", json={})
        assert response.status_code == 404
        body = response.json()
        assert body["error"] == "NotFound" and body["request_id"] == response.headers["x-request-id"]


def test_unknown_gateway_path_gets_the_platform_404(rig: GatewayRig) -> None:
    response = httpx.get(f"{rig.url}/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
    assert "detail" not in response.json()


@pytest.mark.parametrize(
    "path,component",
    [
        ("/.well-known/openid-configuration", "identity"),
        ("/token", "identity"),
        ("/authorize", "identity"),
        ("/identity/sign-in", "identity"),
        ("/secure/abc", "pay"),
        ("/card_details/x", "pay"),
        ("/link/x", "pay"),
        ("/unsubscribe/a/b", "notify"),
        ("/notifications/sms/receive/mmg", "notify"),
    ],
)
def test_open_paths_are_forwarded_with_an_anonymous_principal(rig: GatewayRig, path: str, component: str) -> None:
    response = httpx.get(f"{rig.url}{path}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["audience"] == component
    assert body["principal"]["service_id"] is None
    assert body["principal"]["request_id"] == response.headers["x-request-id"]


def test_authorization_passes_through_on_open_paths(rig: GatewayRig) -> None:
    response = httpx.post(f"{rig.url}/token", headers={"Authorization": "Basic abc"}, data={"a": "b"})
    assert response.json()["headers"]["authorization"] == "Basic abc"


def test_unreachable_upstream_is_503_in_each_family(fresh_gateway, rig: GatewayRig) -> None:  # type: ignore[no-untyped-def]
    down = closed_port_url()
    with fresh_gateway(upstreams={"notify": down, "pay": down, "identity": down}) as url:
        notify = httpx.get(f"{url}/v2/notifications", headers=notify_auth(rig))
        assert notify.status_code == 503
        assert notify.json()["errors"][0]["error"] == "ServiceUnavailable"
        pay = httpx.get(f"{url}/v1/payments", headers=pay_auth(rig))
        assert pay.status_code == 503
        assert pay.json()["code"] == "P0999"
        oauth = httpx.post(f"{url}/token")
        assert oauth.status_code == 503
        assert oauth.json()["error"] == "temporarily_unavailable"


def test_slow_upstream_is_504(rig: GatewayRig) -> None:
    response = httpx.get(f"{rig.url}/v2/slow?s=3", headers=notify_auth(rig), timeout=10)
    assert response.status_code == 504
    assert response.json() == {
        "status_code": 504,
        "errors": [{"error": "TimeoutError", "message": "Timeout serving request"}],
    }


def test_a_bulk_send_has_the_longer_timeout(rig: GatewayRig) -> None:
    """Bulk sends validate and store every row before answering: slower than the other routes' timeout, by design."""
    slow = httpx.post(f"{rig.url}/v2/notifications/bulk/slow?s=3", headers=notify_auth(rig), json={}, timeout=10)
    assert slow.status_code == 200, slow.text


def test_slow_post_is_not_retried(rig: GatewayRig) -> None:
    response = httpx.post(f"{rig.url}/v1/slow?s=3", headers=pay_auth(rig), json={}, timeout=10)
    assert response.status_code == 504


def test_malformed_json_to_the_admin_api_is_a_clear_400(rig: GatewayRig) -> None:
    response = httpx.post(
        f"{rig.url}/console/api/v1/organisations",
        content=b"{not json",
        headers={"Authorization": f"Bearer {rig.admin_token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "BadRequest" and "detail" not in body


def test_health_and_readiness(rig: GatewayRig) -> None:
    assert httpx.get(f"{rig.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{rig.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}
    metrics = httpx.get(f"{rig.url}/metrics").text
    assert "gaap_http_requests_total" in metrics
    assert 'route="proxy:pay"' in metrics

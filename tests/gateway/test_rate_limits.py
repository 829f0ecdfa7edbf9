"""The gateway's rate limits: 429s in each family's format, and each family's policy when Redis is down."""

from __future__ import annotations

import asyncio

import httpx
from notifications_python_client.authentication import create_jwt_token

from gaap.db.engine import Database
from gateway.tenants import service as tenants
from tests.gateway.conftest import GatewayRig, closed_port_url


def notify_headers(key: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + create_jwt_token(key[-36:], key[-73:-37])}


def set_service(rig: GatewayRig, **changes: object) -> None:
    async def work() -> None:
        db = Database(rig.db_url, pool_size=1)
        try:
            async with db.write_session() as session:
                await tenants.update_service(session, rig.tenant.service_id, actor="test", **changes)  # type: ignore[arg-type]
        finally:
            await db.dispose()

    asyncio.run(work())


def test_notify_send_bucket_per_key_type(fresh_gateway, rig: GatewayRig, redis) -> None:  # type: ignore[no-untyped-def]
    set_service(rig, rate_limit=6)  # burst = min(ceil(6 / 3) + 1, 1000) = 3
    try:
        with fresh_gateway() as url:
            test_key = rig.tenant.keys["notify_test"]
            sent = [
                httpx.post(f"{url}/v2/notifications/sms", headers=notify_headers(test_key), json={}) for _ in range(3)
            ]
            assert [r.status_code for r in sent] == [200, 200, 200]
            assert sent[0].headers["ratelimit-limit"] == "6"
            assert sent[-1].headers["ratelimit-remaining"] == "0"
            limited = httpx.post(f"{url}/v2/notifications/sms", headers=notify_headers(test_key), json={})
            assert limited.status_code == 429
            assert limited.json() == {
                "status_code": 429,
                "errors": [
                    {
                        "error": "RateLimitError",
                        "message": "Exceeded rate limit for key type TEST of 6 requests per 60 seconds",
                    }
                ],
            }
            assert int(limited.headers["retry-after"]) >= 1
            # Reads are not limited; another key type has its own bucket.
            assert httpx.get(f"{url}/v2/notifications", headers=notify_headers(test_key)).status_code == 200
            live = httpx.post(
                f"{url}/v2/notifications/email",
                headers=notify_headers(rig.tenant.keys["notify_live"]),
                json={},
            )
            assert live.status_code == 200
    finally:
        set_service(rig, rate_limit=3000)


def test_live_label_in_the_429_text(fresh_gateway, rig: GatewayRig, redis) -> None:  # type: ignore[no-untyped-def]
    set_service(rig, rate_limit=3)  # burst 2
    try:
        with fresh_gateway() as url:
            key = rig.tenant.keys["notify_live"]
            codes = [
                httpx.post(f"{url}/v2/notifications/letter", headers=notify_headers(key), json={}).status_code
                for _ in range(3)
            ]
            assert codes == [200, 200, 429]
            last = httpx.post(f"{url}/v2/notifications/letter", headers=notify_headers(key), json={})
            assert last.json()["errors"][0]["message"] == (
                "Exceeded rate limit for key type LIVE of 3 requests per 60 seconds"
            )
    finally:
        set_service(rig, rate_limit=3000)


def test_pay_low_tier_429(fresh_gateway, rig: GatewayRig, redis) -> None:  # type: ignore[no-untyped-def]
    set_service(rig, pay_rate_tier="low")
    try:
        with fresh_gateway() as url:
            headers = {"Authorization": "Bearer " + rig.tenant.keys["pay_test"]}
            assert httpx.post(f"{url}/v1/payments", headers=headers, json={}).status_code == 200
            limited = httpx.post(f"{url}/v1/payments/abc/refunds", headers=headers, json={})
            assert limited.status_code == 429
            assert limited.json() == {"code": "P0900", "description": "Too many requests"}
            assert limited.headers["retry-after"] == "1"
            # The test and live accounts of one service are separate.
            live = {"Authorization": "Bearer " + rig.tenant.keys["pay_live"]}
            assert httpx.post(f"{url}/v1/payments", headers=live, json={}).status_code == 200
    finally:
        set_service(rig, pay_rate_tier="default")


def test_anonymous_paths_are_limited_per_address(fresh_gateway, redis) -> None:  # type: ignore[no-untyped-def]
    with fresh_gateway(
        anonymous_rate_per_minute=60,
        anonymous_burst=2,
        oauth_back_channel_rate_per_minute=60,
        oauth_back_channel_burst=3,
    ) as url:
        # A relying party's server: its own bucket, not the pages' (one call per citizen signing in).
        assert [httpx.post(f"{url}/token").status_code for _ in range(2)] == [200, 200]
        assert httpx.get(f"{url}/userinfo").status_code == 200
        oauth = httpx.post(f"{url}/token")
        assert oauth.status_code == 429
        assert oauth.json()["error"] == "temporarily_unavailable"
        assert oauth.headers["retry-after"]
        assert [httpx.get(f"{url}/authorize").status_code for _ in range(3)] == [200, 200, 429]  # the pages' limit
        # Pay's open API has its own bucket and answers in Pay's format.
        assert httpx.post(f"{url}/v1/auth").status_code == 200


def test_provider_webhooks_have_their_own_larger_bucket(fresh_gateway, redis) -> None:  # type: ignore[no-untyped-def]
    with fresh_gateway(
        anonymous_rate_per_minute=60, anonymous_burst=2, provider_webhook_rate_per_minute=60, provider_webhook_burst=5
    ) as url:
        receipts = [httpx.post(f"{url}/notifications/email/smtp").status_code for _ in range(6)]
        assert receipts == [200] * 5 + [429], "a provider's receipts are not held to the pages' limit"
        assert [httpx.post(f"{url}/unsubscribe/x").status_code for _ in range(3)] == [200, 200, 429]


def test_redis_down_notify_fails_open(fresh_gateway, rig: GatewayRig) -> None:  # type: ignore[no-untyped-def]
    with fresh_gateway(redis_url=closed_port_url().replace("http", "redis")) as url:
        response = httpx.post(
            f"{url}/v2/notifications/sms", headers=notify_headers(rig.tenant.keys["notify_test"]), json={}
        )
        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers


def test_redis_down_identity_fails_closed(fresh_gateway) -> None:  # type: ignore[no-untyped-def]
    with fresh_gateway(redis_url=closed_port_url().replace("http", "redis")) as url:
        response = httpx.post(f"{url}/token")
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable"


def test_redis_down_pay_falls_back_to_local_limits(fresh_gateway, rig: GatewayRig) -> None:  # type: ignore[no-untyped-def]
    with fresh_gateway(redis_url=closed_port_url().replace("http", "redis"), pay_fallback_post_per_second=2) as url:
        headers = {"Authorization": "Bearer " + rig.tenant.keys["pay_test"]}
        codes = [httpx.post(f"{url}/v1/payments", headers=headers, json={}).status_code for _ in range(4)]
        assert codes[:2] == [200, 200]
        assert 429 in codes[2:]

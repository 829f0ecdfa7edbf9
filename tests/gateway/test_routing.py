"""The routing table (ARCHITECTURE, "Routes"): who owns which path, and host-based narrowing."""

from __future__ import annotations

import pytest

from gateway.routing import BLOCKED, Auth, Router, match_path


@pytest.mark.parametrize(
    ("path", "component", "auth", "family"),
    [
        ("/v2/notifications", "notify", Auth.notify_key, "notify"),
        ("/v2", "notify", Auth.notify_key, "notify"),
        ("/v2/anything/unknown", "notify", Auth.notify_key, "notify"),
        ("/service/abc/template/def/versions", "notify", Auth.notify_key, "notify"),
        ("/unsubscribe/abc/def", "notify", Auth.anonymous, "notify"),
        ("/notifications/sms/receive/mmg", "notify", Auth.anonymous, "notify"),
        ("/notifications/email/ses", "notify", Auth.anonymous, "notify"),
        ("/v1/payments", "pay", Auth.pay_key, "pay"),
        ("/v1/auth", "pay", Auth.anonymous, "pay"),
        ("/secure", "pay", Auth.anonymous, "html"),
        ("/secure/abc", "pay", Auth.anonymous, "html"),
        ("/card_details/abc", "pay", Auth.anonymous, "html"),
        ("/check_card/abc", "pay", Auth.anonymous, "html"),
        ("/return/abc", "pay", Auth.anonymous, "html"),
        ("/link/abc", "pay", Auth.anonymous, "html"),
        ("/authorize", "identity", Auth.anonymous, "html"),
        ("/logout", "identity", Auth.anonymous, "html"),
        ("/token", "identity", Auth.anonymous, "oauth"),
        ("/userinfo", "identity", Auth.anonymous, "oauth"),
        ("/trustmark", "identity", Auth.anonymous, "oauth"),
        ("/.well-known/openid-configuration", "identity", Auth.anonymous, "oauth"),
        ("/identity/vocab/v1/coreIdentityJWT", "identity", Auth.anonymous, "oauth"),
        ("/identity/sign-in/email", "identity", Auth.anonymous, "html"),
    ],
)
def test_owners(path: str, component: str, auth: Auth, family: str) -> None:
    route = match_path(path)
    assert route is not None
    assert (route.component, route.auth, route.family) == (component, auth, family)


@pytest.mark.parametrize(
    "path",
    [
        "/console",
        "/console/api/v1/services",
        "/assets/x.css",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v2x",
        "/v1x",
        "/tokens",
        "/",
    ],
)
def test_gateway_owns_the_rest(path: str) -> None:
    assert match_path(path) is None


@pytest.mark.parametrize("path", ["/internal", "/internal/services/1", "/internal/clients"])
def test_internal_is_blocked(path: str) -> None:
    assert match_path(path) is BLOCKED


def test_bulk_uploads_are_marked() -> None:
    route = match_path("/v2/notifications/bulk")
    assert route is not None
    assert route.bulk


def test_host_routing_narrows_a_host_to_its_component() -> None:
    router = Router("pay.example.org=pay, id.example.org=identity")
    assert router.match("/v1/payments", "pay.example.org").component == "pay"  # type: ignore[union-attr]
    assert router.match("/v2/notifications", "pay.example.org:443") is None
    assert router.match("/token", "id.example.org").component == "identity"  # type: ignore[union-attr]
    # Hosts not mapped see every route, and /internal stays blocked everywhere.
    assert router.match("/v2/notifications", "gaap.example.org").component == "notify"  # type: ignore[union-attr]
    assert router.match("/internal/x", "pay.example.org") is BLOCKED

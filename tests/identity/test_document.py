"""Identity's OpenAPI document says what its pages really answer (found by schemathesis, `tests/schemathesis/`): an
HTML page, a redirect to the next step, or an HTML error page, never the JSON FastAPI assumes by default."""

from __future__ import annotations

from services.identity.app import create_app


def test_pages_are_documented_as_html_and_redirects() -> None:
    paths = create_app().openapi()["paths"]
    for path, method in [
        ("/identity/sign-in", "get"),
        ("/identity/prove", "get"),
        ("/identity/sign-out", "post"),
        ("/authorize", "get"),
        ("/logout", "get"),
    ]:
        responses = paths[path][method]["responses"]
        assert list(responses["200"]["content"]) == ["text/html"], (path, method)
        assert {"302", "303", "400", "403"} <= set(responses), (path, method)
        assert list(responses["400"]["content"]) == ["text/html"], (path, method)


def test_the_oauth_api_stays_json() -> None:
    paths = create_app().openapi()["paths"]
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json", "/trustmark"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["application/json"], path

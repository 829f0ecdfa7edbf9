"""The gateway's own answers (auth failures, 413, 429, 503, 504), each in the format of the API that was called."""

from __future__ import annotations

import math
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Scope

from gaap.errors import FAMILIES, ApiError, Fault, json_response
from gaap.ratelimit import Decision

#: Renders the HTML error page for a request: (scope, status, retry_after) -> Response.
HtmlErrorRenderer = Callable[[Scope, int, int | None], Response]


class Answers:
    def __init__(self, html_error: HtmlErrorRenderer) -> None:
        self.html_error = html_error

    def fault(self, family: str, fault: Fault, request_id: str, scope: Scope) -> Response:
        if family == "html":
            status = {
                Fault.body_too_large: 413,
                Fault.unavailable: 503,
                Fault.timeout: 504,
                Fault.not_found: 404,
            }.get(fault, 500)
            return self.html_error(scope, status, 30 if status == 503 else None)
        return FAMILIES[family].fault(fault, request_id)

    def error(self, family: str, error: ApiError, request_id: str) -> Response:
        return FAMILIES[family].render(error, request_id)

    def pay_unauthorised(self) -> Response:
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})

    def rate_limited(
        self,
        family: str,
        decision: Decision,
        request_id: str,
        scope: Scope,
        *,
        notify_key_type: str | None = None,
    ) -> Response:
        retry_after = str(max(1, math.ceil(decision.retry_after)))
        if family == "notify":
            headers = decision.headers()
            if notify_key_type is not None:
                message = (
                    f"Exceeded rate limit for key type {notify_key_type} of {decision.limit} requests per 60 seconds"
                )
                error = "RateLimitError"
            else:
                message, error = "Too many requests, try again later", "TooManyRequestsError"
            body = {"status_code": 429, "errors": [{"error": error, "message": message}]}
            return json_response(429, body, headers)
        if family == "pay":
            # GOV.UK Pay always answers `Retry-After: 1` (pay spec §4.4).
            return json_response(429, {"code": "P0900", "description": "Too many requests"}, {"Retry-After": "1"})
        if family == "oauth":
            body = {
                "error": "temporarily_unavailable",
                "error_description": "Too many requests, try again later",
            }
            return json_response(429, body, {"Retry-After": retry_after})
        if family == "html":
            return self.html_error(scope, 429, int(retry_after))
        body = {"error": "TooManyRequests", "message": "Too many requests", "request_id": request_id}
        return json_response(429, body, {"Retry-After": retry_after})

"""One error hierarchy, and one renderer per API family (ARCHITECTURE rule 5).

Code raises `ApiError` (or a component's subclass of it) and never builds an error body itself. An app is built for
one family, and its renderer turns every error into that family's body:

- platform: `{"error": CODE, "message": ..., "request_id": ...}` (everything new);
- notify:   `{"status_code": N, "errors": [{"error": CODE, "message": ...}]}` (Notify's v2 envelope), and
            `{"result": "error", "message": ...}` for framework errors (unknown path, wrong method);
- pay:      `{"code": CODE, "description": ..., "field"|"header": ...}`, and Dropwizard's
            `{"code": 404, "message": "HTTP 404 Not Found"}` for framework errors;
- oauth:    RFC 6749 `{"error": ..., "error_description": ...}`.

`Fault` names the situations every family must answer (unknown path, bad JSON, oversized body, ...), so the gateway
and the kernel can answer them in whichever family the request belongs to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import orjson
from starlette.responses import Response


class ApiError(Exception):
    """An error with its HTTP status and its family code. Expected conflicts are 4xx, never 500."""

    status_code: int = 500
    code: str = "InternalError"
    message: str = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.message = message if message is not None else type(self).message
        self.status_code = status_code or type(self).status_code
        self.code = code or type(self).code
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.message)


class BadRequest(ApiError):
    status_code = 400
    code = "BadRequest"
    message = "The request was not valid"


class Unauthorized(ApiError):
    status_code = 401
    code = "Unauthorized"
    message = "Authentication is required"


class Forbidden(ApiError):
    status_code = 403
    code = "Forbidden"
    message = "Not allowed"


class NotFound(ApiError):
    status_code = 404
    code = "NotFound"
    message = "Not found"


class Conflict(ApiError):
    status_code = 409
    code = "Conflict"
    message = "The request conflicts with the current state"


class Unprocessable(ApiError):
    status_code = 422
    code = "ValidationError"
    message = "The request was not valid"


class TooManyRequests(ApiError):
    status_code = 429
    code = "TooManyRequests"
    message = "Too many requests"


class Unavailable(ApiError):
    status_code = 503
    code = "ServiceUnavailable"
    message = "The service is temporarily unavailable"


class Fault(StrEnum):
    """Situations every family answers in its own format."""

    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    bad_json = "bad_json"
    body_too_large = "body_too_large"
    bad_request = "bad_request"
    internal = "internal"
    timeout = "timeout"
    unavailable = "unavailable"
    unauthenticated = "unauthenticated"


FAULT_STATUS = {
    Fault.not_found: 404,
    Fault.method_not_allowed: 405,
    Fault.bad_json: 400,
    Fault.body_too_large: 413,
    Fault.bad_request: 400,
    Fault.internal: 500,
    Fault.timeout: 504,
    Fault.unavailable: 503,
    Fault.unauthenticated: 401,
}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


class ErrorFamily:
    """Renders errors for one API family. Subclasses override `body` and `fault_body`."""

    name = "platform"

    def render(self, error: ApiError, request_id: str) -> Response:
        return json_response(error.status_code, self.body(error, request_id), error.headers or None)

    def body(self, error: ApiError, request_id: str) -> Any:
        return {"error": error.code, "message": error.message, "request_id": request_id, **error.extra}

    def fault(self, fault: Fault, request_id: str, detail: str | None = None) -> Response:
        status = FAULT_STATUS[fault]
        return json_response(status, self.fault_body(fault, status, request_id, detail))

    def fault_body(self, fault: Fault, status: int, request_id: str, detail: str | None) -> Any:
        messages = {
            Fault.not_found: "Not found",
            Fault.method_not_allowed: "Method not allowed",
            Fault.bad_json: "The request body is not valid JSON",
            Fault.body_too_large: "The request body is too large",
            Fault.bad_request: "The request was not valid",
            Fault.internal: "Internal server error",
            Fault.timeout: "The request timed out",
            Fault.unavailable: "The service is temporarily unavailable",
            Fault.unauthenticated: "Authentication is required",
        }
        codes = {
            Fault.not_found: "NotFound",
            Fault.method_not_allowed: "MethodNotAllowed",
            Fault.bad_json: "BadRequest",
            Fault.body_too_large: "PayloadTooLarge",
            Fault.bad_request: "BadRequest",
            Fault.internal: "InternalError",
            Fault.timeout: "Timeout",
            Fault.unavailable: "ServiceUnavailable",
            Fault.unauthenticated: "Unauthorized",
        }
        return {"error": codes[fault], "message": detail or messages[fault], "request_id": request_id}


PlatformFamily = ErrorFamily


class NotifyFamily(ErrorFamily):
    """GOV.UK Notify: the v2 envelope for API errors, `{"result": "error"}` for framework errors."""

    name = "notify"

    def body(self, error: ApiError, request_id: str) -> Any:
        # A schema failure may carry several items (`items`); they are de-duplicated in order.
        items = getattr(error, "items", None) or [{"error": error.code, "message": error.message, **error.extra}]
        unique: list[dict[str, Any]] = []
        for item in items:
            if item not in unique:
                unique.append(item)
        return {"status_code": error.status_code, "errors": unique}

    def fault_body(self, fault: Fault, status: int, request_id: str, detail: str | None) -> Any:
        if fault == Fault.not_found:
            return {
                "result": "error",
                "message": "The requested URL was not found on the server. If you entered the URL manually "
                "please check your spelling and try again.",
            }
        if fault == Fault.method_not_allowed:
            return {"result": "error", "message": "The method is not allowed for the requested URL."}
        error, message = {
            Fault.bad_json: ("BadRequestError", "Invalid JSON supplied in POST data"),
            Fault.body_too_large: ("BadRequestError", "Request body is too large"),
            Fault.bad_request: ("BadRequestError", detail or "Bad request"),
            Fault.internal: ("InternalServerError", "Internal server error"),
            Fault.timeout: ("TimeoutError", "Timeout serving request"),
            Fault.unavailable: ("ServiceUnavailable", "Notify is temporarily unavailable, try again later"),
            Fault.unauthenticated: ("AuthError", "Unauthorized: authentication token must be provided"),
        }[fault]
        return {"status_code": status, "errors": [{"error": error, "message": detail or message}]}


class PayFamily(ErrorFamily):
    """GOV.UK Pay: `{code, description, field|header}`; Dropwizard bodies for framework errors."""

    name = "pay"

    def body(self, error: ApiError, request_id: str) -> Any:
        return {"code": error.code, "description": error.message, **error.extra}

    def fault_body(self, fault: Fault, status: int, request_id: str, detail: str | None) -> Any:
        if fault == Fault.unavailable:
            return {"code": "P0999", "description": detail or "Pay is unavailable, try again later"}
        if fault == Fault.body_too_large:
            return {
                "code": "P0920",
                "description": "Request blocked by security rules. Please consult API "
                "documentation for more information. Reason: request body is too large",
            }
        reasons = {
            Fault.not_found: "Not Found",
            Fault.method_not_allowed: "Method Not Allowed",
            Fault.bad_json: "Bad Request",
            Fault.bad_request: "Bad Request",
            Fault.internal: "Internal Server Error",
            Fault.timeout: "Gateway Timeout",
            Fault.unauthenticated: "Unauthorized",
        }
        if fault == Fault.internal:
            return {
                "code": 500,
                "message": f"There was an error processing your request. It has been logged (ID {request_id}).",
            }
        return {"code": status, "message": f"HTTP {status} {reasons[fault]}"}


class OAuthFamily(ErrorFamily):
    """RFC 6749/6750 JSON errors (the identity service's API paths)."""

    name = "oauth"

    def body(self, error: ApiError, request_id: str) -> Any:
        return {"error": error.code, "error_description": error.message}

    def fault_body(self, fault: Fault, status: int, request_id: str, detail: str | None) -> Any:
        code = {
            Fault.unavailable: "temporarily_unavailable",
            Fault.timeout: "temporarily_unavailable",
            Fault.internal: "server_error",
            Fault.unauthenticated: "invalid_client",
            Fault.not_found: "not_found",
            Fault.method_not_allowed: "invalid_request",
        }.get(fault, "invalid_request")
        messages = {
            Fault.not_found: "Not found",
            Fault.method_not_allowed: "Method not allowed",
            Fault.bad_json: "The request body is not valid",
            Fault.body_too_large: "The request body is too large",
            Fault.internal: "Internal server error",
            Fault.unavailable: "The service is temporarily unavailable",
            Fault.timeout: "The service is temporarily unavailable",
        }
        return {
            "error": code,
            "error_description": detail or messages.get(fault, "The request was not valid"),
        }


FAMILIES: dict[str, ErrorFamily] = {
    "platform": PlatformFamily(),
    "notify": NotifyFamily(),
    "pay": PayFamily(),
    "oauth": OAuthFamily(),
}

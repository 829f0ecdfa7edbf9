"""Pay's errors: GOV.UK Pay's `{code, description, field|header}` bodies (pay spec §4.1, §11).

Code raises these and never builds a body; the kernel's `PayFamily` renders them. Descriptions quoted in §11 are
reproduced exactly, because clients match on them even though they should branch on `code`. Each endpoint has its
own pair of "not found" and "downstream" codes (P0200/P0298 for get payment, P0300/P0398 for events, ...), so an
`Endpoint` names them once and the routes share the helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaap.errors import ApiError

SECURITY_RULES = "Request blocked by security rules. Please consult API documentation for more information."


class PayError(ApiError):
    """An answer in Pay's format; build one with the helpers below rather than by hand."""

    status_code = 400
    code = "P0102"
    message = "Invalid attribute value"


def pay_error(
    status: int, code: str, description: str, *, field: str | None = None, header: str | None = None
) -> PayError:
    extra: dict[str, Any] = {}
    if field is not None:
        extra["field"] = field
    if header is not None:
        extra["header"] = header
    return PayError(description, status_code=status, code=code, **extra)


def missing(field: str, code: str = "P0101") -> PayError:
    """§4.2 step 2: a required field absent, null or blank."""
    return pay_error(400, code, f"Missing mandatory attribute: {field}", field=field)


def invalid(field: str, reason: str, *, status: int = 400, code: str = "P0102") -> PayError:
    """§4.2 steps 3, 4 and 6: `Invalid attribute value: <field>. <reason>`."""
    return pay_error(status, code, f"Invalid attribute value: {field}. {reason}", field=field)


def unexpected(field: str) -> PayError:
    """§4.2 step 5: a field the chosen mode forbids."""
    return pay_error(400, "P0104", f"Unexpected attribute: {field}", field=field)


def blocked(reason: str, *, status: int = 400, field: str | None = None) -> PayError:
    """P0920 (§4.3, §15 B8): a security rule fired; the reason says which."""
    return pay_error(status, "P0920", f"{SECURITY_RULES} Reason: {reason}", field=field)


@dataclass(frozen=True)
class Endpoint:
    """The codes one endpoint answers with (§11)."""

    not_found: str
    downstream: str
    #: The `Unable to parse JSON` code of an endpoint that takes a body.
    parse: str = "P0197"
    #: What the endpoint does, for its P0191 description (`... already been used to <action>.`).
    action: str = ""

    def not_found_error(self) -> PayError:
        return pay_error(404, self.not_found, "Not found")

    def downstream_error(self) -> PayError:
        return pay_error(500, self.downstream, "Downstream system error")

    def unparsable(self) -> PayError:
        return pay_error(400, self.parse, "Unable to parse JSON")

    def key_reused(self) -> PayError:
        """409 P0191: the key was used with another body, or its first request is still running (§4.5)."""
        return pay_error(
            409,
            "P0191",
            f"The `Idempotency-Key` you sent in the request header has already been used to {self.action}.",
            header="Idempotency-Key",
        )


CREATE_PAYMENT = Endpoint("P0199", "P0198", action="create a payment")
GET_PAYMENT = Endpoint("P0200", "P0298")
PAYMENT_EVENTS = Endpoint("P0300", "P0398")
SEARCH_PAYMENTS = Endpoint("P0402", "P0498")
CANCEL_PAYMENT = Endpoint("P0500", "P0598", action="cancel a payment")
CAPTURE_PAYMENT = Endpoint("P1000", "P1098", action="capture a payment")
CREATE_REFUND = Endpoint("P0600", "P0698", parse="P0697", action="create a refund")
GET_REFUND = Endpoint("P0700", "P0798")
LIST_REFUNDS = Endpoint("P0800", "P0898")
SEARCH_REFUNDS = Endpoint("P1100", "P1898")
AUTHORISE = Endpoint("P1211", "P0050", action="authorise a payment")
CREATE_AGREEMENT = Endpoint("P0199", "P2198", parse="P2197", action="create an agreement")
GET_AGREEMENT = Endpoint("P2200", "P2298")
SEARCH_AGREEMENTS = Endpoint("P2402", "P2498")
CANCEL_AGREEMENT = Endpoint("P2500", "P2598", action="cancel an agreement")


def account_error() -> PayError:
    """500 P0199: the caller's account is not known to pay (the gateway has not pushed its service yet)."""
    return pay_error(500, "P0199", "There is an error with this account. Please contact support")

"""Create payment validation (pay spec §4.2, §4.3, §5.1, §11): the 400-versus-422 order, exact codes, descriptions
and `field`s. Each case's body breaks exactly the rule under test, unless it tests which of two failures wins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.pay.conftest import RETURN_URL, PayRig, Tenant

SECURITY = "Request blocked by security rules. Please consult API documentation for more information."
VALID: dict[str, Any] = {"amount": 1200, "reference": "CT-0001", "description": "Council tax", "return_url": RETURN_URL}


def body(**changes: Any) -> dict[str, Any]:
    """VALID with `changes`; a change to `...` removes the field."""
    out = {**VALID, **changes}
    return {k: v for k, v in out.items() if v is not ...}


def error(code: str, description: str, field: str | None = None) -> dict[str, str]:
    out = {"code": code, "description": description}
    if field is not None:
        out["field"] = field
    return out


def missing(field: str) -> dict[str, str]:
    return error("P0101", f"Missing mandatory attribute: {field}", field)


def bad(field: str, reason: str) -> dict[str, str]:
    return error("P0102", f"Invalid attribute value: {field}. {reason}", field)


@pytest.fixture(scope="module")
def tenants(pay_rig: PayRig) -> dict[str, Tenant]:
    return {
        "plain": pay_rig.tenant(),
        "disabled": pay_rig.tenant({"disabled": True, "live": {"provider": "sandbox"}}),
        "recurring": pay_rig.tenant({"recurring_enabled": True}),
        "no_recurring": pay_rig.tenant({"recurring_enabled": False}),
        "zero": pay_rig.tenant({"allow_zero_amount": True}),
    }


def post(client: httpx.Client, payload: Any) -> httpx.Response:
    return client.post("/v1/payments", json=payload)


# --- §4.2 step 1 and §4.3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"", b"   ", b"{not json", b"[1, 2]", b'"text"', b"null", b"12"],
    ids=["empty", "blank", "bad-json", "array", "string", "null", "number"],
)
def test_a_body_that_is_not_a_json_object_is_p0197(api: httpx.Client, raw: bytes) -> None:
    response = api.post("/v1/payments", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == error("P0197", "Unable to parse JSON")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_a_body_not_declared_as_json_is_blocked_by_p0920(api: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.post("/v1/payments", content=b'{"amount": 100}', headers=headers)
    assert response.status_code == 400
    got = response.json()
    assert set(got) == {"code", "description"}
    assert got["code"] == "P0920"
    assert got["description"].startswith(SECURITY + " Reason: ")
    assert "Content-Type" in got["description"]


def test_content_type_parameters_and_case_are_accepted(api: httpx.Client) -> None:
    response = api.post(
        "/v1/payments",
        content=httpx.Request("POST", "/", json=VALID).content,
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


def test_an_empty_body_without_a_content_type_is_p0197_not_p0920(api: httpx.Client) -> None:
    response = api.post("/v1/payments", content=b"")
    assert response.json()["code"] == "P0197"


# --- steps 2 to 6, table-driven ---------------------------------------------------------------------------------

CASES: list[tuple[str, Any, int, dict[str, str]]] = [
    # step 2: required, null, blank
    ("amount missing", body(amount=...), 400, missing("amount")),
    ("amount null", body(amount=None), 400, missing("amount")),
    ("reference missing", body(reference=...), 400, missing("reference")),
    ("reference blank", body(reference="   "), 400, missing("reference")),
    ("description empty", body(description=""), 400, missing("description")),
    ("return_url missing for web", body(return_url=...), 400, missing("return_url")),
    ("return_url null for web", body(return_url=None), 400, missing("return_url")),
    ("first missing field wins", body(amount=..., reference=...), 400, missing("amount")),
    ("missing beats wrong type", body(amount="12", description=...), 400, missing("description")),
    # step 3: types
    ("amount as string", body(amount="1200"), 400, bad("amount", "Must be a valid numeric format")),
    ("amount as decimal", body(amount=12.5), 400, bad("amount", "Must be a valid numeric format")),
    ("amount as boolean", body(amount=True), 400, bad("amount", "Must be a valid numeric format")),
    ("reference as number", body(reference=5), 400, bad("reference", "Must be a valid string format")),
    ("description as list", body(description=["a"]), 400, bad("description", "Must be a valid string format")),
    ("return_url as number", body(return_url=5), 400, bad("return_url", "Must be a valid string format")),
    ("email as number", body(email=5), 400, bad("email", "Field must be a string")),
    (
        "cardholder name as number",
        body(prefilled_cardholder_details={"cardholder_name": 5}),
        400,
        bad("cardholder_name", "Field must be a string"),
    ),
    (
        "address line as number",
        body(prefilled_cardholder_details={"billing_address": {"line1": 1}}),
        400,
        bad("line1", "Field must be a string"),
    ),
    ("delayed_capture as string", body(delayed_capture="yes"), 400, bad("delayed_capture", "Must be true or false")),
    ("moto as number", body(moto=1), 400, bad("moto", "Must be true or false")),
    ("metadata null", body(metadata=None), 422, bad("metadata", "Value must not be null")),
    ("metadata as list", body(metadata=[1]), 422, bad("metadata", "Must be an object of JSON key-value pairs")),
    ("wrong type beats range", body(amount=0, reference=5), 400, bad("reference", "Must be a valid string format")),
    # step 4: characters
    ("reference with <", body(reference="a<b"), 400, bad("reference", "Must be a valid string format")),
    ("description with |", body(description="a|b"), 400, bad("description", "Must be a valid string format")),
    (
        "characters beat range",
        body(reference="x" * 300, description="a>b"),
        400,
        bad("description", "Must be a valid string format"),
    ),
    # step 5: fields the mode forbids
    (
        "return_url with moto_api",
        body(authorisation_mode="moto_api"),
        400,
        error("P0104", "Unexpected attribute: return_url", "return_url"),
    ),
    (
        "agreement_id with web",
        body(agreement_id="a" * 26),
        400,
        error("P0104", "Unexpected attribute: agreement_id", "agreement_id"),
    ),
    (
        "set_up_agreement with moto_api",
        body(authorisation_mode="moto_api", return_url=..., set_up_agreement="a" * 26),
        400,
        error("P0104", "Unexpected attribute: set_up_agreement", "set_up_agreement"),
    ),
    (
        "email with agreement",
        body(authorisation_mode="agreement", return_url=..., agreement_id="a" * 26, email="a@example.org"),
        400,
        error("P0104", "Unexpected attribute: email", "email"),
    ),
    (
        "agreement_payment_type alone",
        body(agreement_payment_type="recurring"),
        400,
        error("P0104", "Unexpected attribute: agreement_payment_type", "agreement_payment_type"),
    ),
    (
        "agreement_id required for agreement",
        body(authorisation_mode="agreement", return_url=...),
        400,
        missing("agreement_id"),
    ),
    (
        "forbidden beats range",
        body(amount=0, agreement_id="a" * 26),
        400,
        error("P0104", "Unexpected attribute: agreement_id", "agreement_id"),
    ),
    # step 6: values (422)
    ("amount zero", body(amount=0), 422, bad("amount", "Must be greater than or equal to 1")),
    ("amount negative", body(amount=-5), 422, bad("amount", "Must be greater than or equal to 1")),
    ("amount too big", body(amount=10_000_001), 422, bad("amount", "Must be less than or equal to 10000000")),
    (
        "reference too long",
        body(reference="r" * 256),
        422,
        bad("reference", "Must be less than or equal to 255 characters length"),
    ),
    (
        "description too long",
        body(description="d" * 256),
        422,
        bad("description", "Must be less than or equal to 255 characters length"),
    ),
    ("return_url not a URL", body(return_url="not a url"), 422, bad("return_url", "Must be a valid URL format")),
    ("return_url relative", body(return_url="/done"), 422, bad("return_url", "Must be a valid URL format")),
    ("return_url ftp", body(return_url="ftp://example.org/x"), 422, bad("return_url", "Must be a valid URL format")),
    (
        "return_url too long",
        body(return_url="https://example.org/" + "p" * 1990),
        422,
        bad("return_url", "Must be less than or equal to 2000 characters length"),
    ),
    ("language unknown", body(language="fr"), 422, bad("language", 'Must be "en" or "cy"')),
    ("language not a string", body(language=1), 422, bad("language", 'Must be "en" or "cy"')),
    (
        "email too long",
        body(email="e" * 250 + "@x.org"),
        422,
        bad("email", "Must be less than or equal to 254 characters length"),
    ),
    (
        "cardholder name too long",
        body(prefilled_cardholder_details={"cardholder_name": "n" * 256}),
        422,
        bad("cardholder_name", "Must be less than or equal to 255 characters length"),
    ),
    (
        "postcode too long",
        body(prefilled_cardholder_details={"billing_address": {"postcode": "p" * 26}}),
        422,
        bad("postcode", "Must be less than or equal to 25 characters length"),
    ),
    (
        "authorisation_mode unknown",
        body(authorisation_mode="external"),
        422,
        bad("authorisation_mode", "Must be one of web, moto_api, agreement"),
    ),
    (
        "agreement_payment_type unknown",
        body(set_up_agreement="a" * 26, agreement_payment_type="monthly"),
        422,
        bad("agreement_payment_type", "Must be one of instalment, recurring, unscheduled"),
    ),
    (
        "set_up_agreement length",
        body(set_up_agreement="abc"),
        422,
        bad("set_up_agreement", "Must be exactly 26 characters length"),
    ),
    (
        "first field with a bad value wins",
        body(amount=0, language="fr"),
        422,
        bad("amount", "Must be greater than or equal to 1"),
    ),
    (
        "metadata 16 keys",
        body(metadata={f"k{i}": i for i in range(16)}),
        422,
        bad("metadata", "Cannot have more than 15 key-value pairs"),
    ),
    (
        "metadata empty key",
        body(metadata={"": "v"}),
        422,
        bad("metadata", "Keys must be between 1 and 30 characters long"),
    ),
    (
        "metadata long key",
        body(metadata={"k" * 31: "v"}),
        422,
        bad("metadata", "Keys must be between 1 and 30 characters long"),
    ),
    ("metadata null value", body(metadata={"a": None}), 422, bad("metadata", "Must not have null values")),
    (
        "metadata object value",
        body(metadata={"a": {"b": 1}}),
        422,
        bad("metadata", "Values must be of type String, Boolean or Number"),
    ),
    (
        "metadata list value",
        body(metadata={"a": [1]}),
        422,
        bad("metadata", "Values must be of type String, Boolean or Number"),
    ),
    (
        "metadata long value",
        body(metadata={"a": "v" * 101}),
        422,
        bad("metadata", "Values must be no greater than 100 characters long"),
    ),
    (
        "metadata keys by case",
        body(metadata={"Ledger": "1", "ledger": "2"}),
        422,
        bad("metadata", "Must have case insensitive unique keys"),
    ),
    (
        "several metadata problems",
        body(metadata={"k" * 31: None, "a": "v" * 101}),
        422,
        bad(
            "metadata",
            "Keys must be between 1 and 30 characters long. Must not have null values. "
            "Values must be no greater than 100 characters long",
        ),
    ),
]


@pytest.mark.parametrize(("payload", "status", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_create_validation(api: httpx.Client, payload: Any, status: int, expected: dict[str, str]) -> None:
    response = post(api, payload)
    assert (response.status_code, response.json()) == (status, expected)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reference": "CT\u0000-1"}, "reference"),
        (
            {"prefilled_cardholder_details": {"billing_address": {"line1": "1 High St\u0000"}}},
            "prefilled_cardholder_details",
        ),
        ({"metadata": {"ledger\u0000": "A"}}, "metadata"),
    ],
)
def test_a_nul_character_anywhere_is_refused_not_stored(api: httpx.Client, changes: dict[str, Any], field: str) -> None:
    """PostgreSQL's text cannot hold a NUL (it was a 500 there): every pay POST refuses one before any check."""
    response = post(api, body(**changes))
    reason = f"Reason: {field} contains a NUL character"
    assert (response.status_code, response.json()) == (400, error("P0920", f"{SECURITY} {reason}", field))
    escaped = api.post("/v1/payments", json=body(reference="CT\\u0000-1"))  # a backslash, then "u0000": text
    assert escaped.status_code == 201, escaped.text


def test_a_live_account_needs_an_https_return_url(pay_rig: PayRig) -> None:
    live = pay_rig.api(pay_rig.main.account("live"))
    response = post(live, body(return_url="http://service.example.gov.uk/done"))
    assert response.status_code == 422
    assert response.json() == error(
        "P0920",
        "Invalid attribute value: return_url. Must begin with https:// for a live gateway account",
        "return_url",
    )
    assert post(pay_rig.api(pay_rig.main.account("test")), body(return_url="http://127.0.0.1/done")).status_code == 201


# --- step 7: account and business rules -------------------------------------------------------------------------


def test_moto_needs_the_account_switch(pay_rig: PayRig, tenants: dict[str, Tenant]) -> None:
    response = post(pay_rig.api(tenants["plain"].account()), body(moto=True))
    assert response.status_code == 422
    assert response.json() == error(
        "P0196",
        "MOTO payments are not enabled for this account. Please contact support if you would like to process MOTO "
        "payments",
    )


def test_moto_api_needs_the_account_switch(pay_rig: PayRig, tenants: dict[str, Tenant]) -> None:
    response = post(pay_rig.api(tenants["plain"].account()), body(authorisation_mode="moto_api", return_url=...))
    assert response.status_code == 422
    assert response.json() == error("P0195", "Using authorisation_mode of moto_api is not allowed for this account")


def test_agreement_payments_need_recurring_payments(pay_rig: PayRig, tenants: dict[str, Tenant]) -> None:
    payload = body(authorisation_mode="agreement", return_url=..., agreement_id="a" * 26)
    refused = post(pay_rig.api(tenants["no_recurring"].account()), payload)
    assert refused.status_code == 422
    assert refused.json()["code"] == "P0942"
    unknown = post(pay_rig.api(tenants["recurring"].account()), payload)
    assert (unknown.status_code, unknown.json()) == (400, bad("agreement_id", "Agreement ID does not exist"))


def test_set_up_agreement_must_name_an_agreement(api: httpx.Client) -> None:
    response = post(api, body(set_up_agreement="a" * 26, agreement_payment_type="recurring"))
    assert response.status_code == 400
    assert response.json() == error(
        "P0103", "Invalid attribute value: set_up_agreement. Agreement ID does not exist", "set_up_agreement"
    )


@pytest.mark.parametrize("mode", ["test", "live"])
def test_a_disabled_account_creates_nothing(pay_rig: PayRig, tenants: dict[str, Tenant], mode: str) -> None:
    response = post(pay_rig.api(tenants["disabled"].account(mode)), body())
    assert response.status_code == 403
    assert response.json()["code"] == "P0941"


def test_value_errors_come_before_account_rules(pay_rig: PayRig, tenants: dict[str, Tenant]) -> None:
    response = post(pay_rig.api(tenants["disabled"].account()), body(amount=0))
    assert response.json()["code"] == "P0102"


def test_zero_amounts_need_the_account_switch(pay_rig: PayRig, tenants: dict[str, Tenant]) -> None:
    created = post(pay_rig.api(tenants["zero"].account()), body(amount=0))
    assert created.status_code == 201, created.text
    assert created.json()["amount"] == 0
    below = post(pay_rig.api(tenants["zero"].account()), body(amount=-1))
    assert below.json() == bad("amount", "Must be greater than or equal to 0")


# --- what is accepted -------------------------------------------------------------------------------------------


def test_unknown_fields_are_ignored(api: httpx.Client) -> None:
    response = post(api, body(currency="GBP", future_field={"x": 1}))
    assert response.status_code == 201
    assert "currency" not in response.json()


def test_optional_nulls_count_as_absent(api: httpx.Client) -> None:
    response = post(
        api, body(email=None, language=None, delayed_capture=None, moto=None, prefilled_cardholder_details=None)
    )
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["language"] == "en" and got["delayed_capture"] is False and got["moto"] is False
    assert "email" not in got


def test_metadata_is_kept_and_empty_metadata_is_none(api: httpx.Client) -> None:
    values = {f"key{i}": i for i in range(13)} | {"flag": True, "text": ""}
    kept = post(api, body(metadata=values)).json()
    assert kept["metadata"] == values
    assert "metadata" not in post(api, body(metadata={})).json()


def test_a_repeated_metadata_key_keeps_its_last_value(api: httpx.Client) -> None:
    raw = (
        b'{"amount": 100, "reference": "r", "description": "d", "return_url": "https://x.example/y",'
        b' "metadata": {"a": "first", "a": "last"}}'
    )
    response = api.post("/v1/payments", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    assert response.json()["metadata"] == {"a": "last"}


def test_boundaries_are_accepted(api: httpx.Client) -> None:
    payload = body(
        amount=10_000_000,
        reference="r" * 255,
        description="d" * 255,
        return_url="https://example.org/" + "p" * 1980,
        email="e" * 248 + "@x.org",
        language="cy",
        prefilled_cardholder_details={
            "cardholder_name": "n" * 255,
            "billing_address": {"line1": "1", "line2": "2", "city": "c", "postcode": "p" * 25, "country": "ZZ"},
        },
        metadata={"k" * 30: "v" * 100},
    )
    response = post(api, payload)
    assert response.status_code == 201, response.text
    assert response.json()["language"] == "cy"

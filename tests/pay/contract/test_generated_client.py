"""A client generated from GOV.UK Pay's own OpenAPI document works unchanged against our pay, through the gateway.

The client is generated for this module by `openapi-python-client` (pinned in the tools venv that `make test` sets
up, `constraints-tools.txt`) as a department generating a client for GOV.UK Pay would, and nothing in it is edited.
It parses every answer into the document's own models (attrs classes that refuse a missing required field or a
wrong type), so each call below checks both that our pay understood the request and that its answer has the shape
the document promises.

It is generated from the document as the contract tests read it (`openapi_contract.as_emitted`): two of the
document's renderings of GOV.UK Pay's Java types contradict what GOV.UK Pay itself sends, `next_url_post`'s params
(string values, where the document says objects) and `card_details` (nulls for what is unknown). A client generated
from the document as published fails on GOV.UK Pay's own answers in the same places, so reading those two as the
Java meant is what makes a generated client work with either.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.pay.conftest import RETURN_URL, PayRig, moto_payment
from tests.pay.openapi_contract import as_emitted, load_reference

ROOT = Path(__file__).resolve().parents[3]
GENERATOR = ROOT / ".venv-tools" / "bin" / "openapi-python-client"
PACKAGE = "govuk_pay_client"
#: The client's view does not depend on pay's database: once, on the production one.
pytestmark = pytest.mark.parametrize("pay_rig", ["postgresql"], indirect=True)
SUCCESS_CARD = "4444333322221111"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, importable for this module's tests."""
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: `make test` installs it (constraints-tools.txt)")
    out = tmp_path_factory.mktemp("generated")
    document = out / "govuk-pay-publicapi-openapi.json"
    document.write_text(json.dumps(as_emitted(load_reference())), encoding="utf-8")
    config = out / "config.yaml"
    config.write_text("post_hooks: []\n", encoding="utf-8")  # no formatter run: the code as generated
    argv = [str(GENERATOR), "generate", "--path", str(document), "--meta", "none", "--config", str(config)]
    made = subprocess.run([*argv, "--output-path", str(out / PACKAGE)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


@pytest.fixture
def client(generated: ModuleType, pay_rig: PayRig) -> Iterator[Any]:
    with generated.AuthenticatedClient(base_url=pay_rig.gateway_url, token=pay_rig.main.keys["test"]) as authed:
        yield authed


def test_create_get_search_and_cancel_a_payment(client: Any) -> None:
    models, payments = _models(), "card_payments"
    reference = f"GEN-{uuid.uuid4().hex[:8]}"
    request = models.CreateCardPaymentRequest(
        amount=1450, description="Parking permit", reference=reference, return_url=RETURN_URL, email="ada@example.com"
    )
    created = _api(f"{payments}.create_a_payment").sync_detailed(
        client=client, body=request, idempotency_key=uuid.uuid4().hex
    )
    assert created.status_code == 201, created.content
    payment = created.parsed
    assert isinstance(payment, models.CreatePaymentResult)
    assert (payment.amount, payment.reference, payment.state.status) == (1450, reference, "created")
    assert payment.field_links.next_url.href.startswith("http")

    got = _api(f"{payments}.get_a_payment").sync_detailed(payment.payment_id, client=client)
    assert got.status_code == 200 and isinstance(got.parsed, models.PaymentWithAllLinks)
    assert got.parsed.email == "ada@example.com"

    found = _api(f"{payments}.search_payments").sync_detailed(client=client, reference=reference)
    assert found.status_code == 200 and isinstance(found.parsed, models.PaymentSearchResults)
    assert [p.payment_id for p in found.parsed.results] == [payment.payment_id]

    events = _api(f"{payments}.get_events_for_a_payment").sync_detailed(payment.payment_id, client=client)
    assert events.status_code == 200 and [e.state.status for e in events.parsed.events] == ["created"]

    cancelled = _api(f"{payments}.cancel_a_payment").sync_detailed(payment.payment_id, client=client)
    assert cancelled.status_code == 204
    after = _api(f"{payments}.get_a_payment").sync(payment.payment_id, client=client)
    assert after.state.status == "cancelled" and after.state.code == "P0040"


def test_a_moto_payment_authorised_then_refunded(generated: ModuleType, pay_rig: PayRig, client: Any) -> None:
    models = _models()
    # The document requires `return_url` on every payment, while GOV.UK Pay (and pay, pay spec §5.1) refuses one on
    # a `moto_api` payment: no client generated from it can create one. It is made as the rig makes it; everything
    # after that goes through the generated client.
    made = moto_payment(pay_rig.gateway(pay_rig.main.keys["test"]), amount=2000)
    payment = _api("card_payments.get_a_payment").sync(made["payment_id"], client=client)
    assert isinstance(payment, models.PaymentWithAllLinks)
    token = payment.field_links.auth_url_post.params.additional_properties["one_time_token"]
    card = models.AuthorisationRequest(
        card_number=SUCCESS_CARD, cardholder_name="Ada Lovelace", cvc="123", expiry_date="12/39", one_time_token=token
    )
    with generated.Client(base_url=pay_rig.gateway_url) as anonymous:  # `/v1/auth` carries its own token
        authorised = _api("authorise_card_payments.authorise_a_moto_payment").sync_detailed(client=anonymous, body=card)
    assert authorised.status_code == 204, authorised.content
    paid = _api("card_payments.get_a_payment").sync(payment.payment_id, client=client)
    assert paid.state.status == "success" and paid.card_details.last_digits_card_number == "1111"

    refund = _api("refunding_card_payments.submit_a_refund_for_a_payment").sync_detailed(
        payment.payment_id, client=client, body=models.PaymentRefundRequest(amount=500, refund_amount_available=2000)
    )
    # The document gives the 202 no schema, though GOV.UK Pay sends the refund in it: the client hands back the body,
    # for the caller to read with the document's own model, as it would from GOV.UK Pay.
    assert refund.status_code == 202 and refund.parsed is None, refund.content
    refund_id = models.Refund.from_dict(json.loads(refund.content)).refund_id
    one = _api("refunding_card_payments.get_a_payment_refund").sync(payment.payment_id, refund_id, client=client)
    assert isinstance(one, models.Refund) and one.amount == 500
    listed = _api("refunding_card_payments.get_all_refunds_for_a_payment").sync(payment.payment_id, client=client)
    assert isinstance(listed, models.RefundForSearchResult)
    assert [r.refund_id for r in listed.field_embedded.refunds] == [refund_id]
    searched = _api("refunding_card_payments.search_refunds").sync_detailed(client=client)
    assert searched.status_code == 200 and isinstance(searched.parsed, models.RefundSearchResults)

    submit = _api("refunding_card_payments.submit_a_refund_for_a_payment")
    stale = submit.sync_detailed(
        payment.payment_id, client=client, body=models.PaymentRefundRequest(amount=100, refund_amount_available=2000)
    )
    assert stale.status_code == 412, stale.content  # 1,500 is available now, not 2,000 (no schema given: read it)
    assert models.ErrorResponse.from_dict(json.loads(stale.content)).code == "P0604"


def test_agreements_and_disputes(client: Any) -> None:
    models = _models()
    body = models.CreateAgreementRequest(reference=f"AGR-{uuid.uuid4().hex[:8]}", description="Monthly fee")
    created = _api("agreements.create_an_agreement").sync_detailed(client=client, body=body)
    assert created.status_code == 201 and isinstance(created.parsed, models.Agreement), created.content
    agreement = created.parsed
    got = _api("agreements.get_an_agreement").sync(agreement.agreement_id, client=client)
    assert isinstance(got, models.Agreement) and got.status == models.AgreementStatus.CREATED
    found = _api("agreements.search_agreements").sync_detailed(client=client, reference=body.reference)
    assert found.status_code == 200 and isinstance(found.parsed, models.AgreementSearchResults)
    assert [a.agreement_id for a in found.parsed.results] == [agreement.agreement_id]
    cancelled = _api("agreements.cancel_an_agreement").sync_detailed(agreement.agreement_id, client=client)
    assert cancelled.status_code == 400  # only an active agreement can be cancelled (P2495)
    disputes = _api("disputes.search_disputes").sync_detailed(client=client)
    assert disputes.status_code == 200 and isinstance(disputes.parsed, models.DisputesSearchResults)


def test_a_validation_error_is_parsed_as_the_documents_error(client: Any) -> None:
    models = _models()
    request = models.CreateCardPaymentRequest(amount=0, description="d", reference="r", return_url="not a url")
    refused = _api("card_payments.create_a_payment").sync_detailed(client=client, body=request)
    assert refused.status_code == 422 and isinstance(refused.parsed, models.RequestError), refused.content
    assert refused.parsed.code == "P0102"

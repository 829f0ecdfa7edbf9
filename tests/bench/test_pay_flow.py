"""The Pay full-flow bench's own logic (`bench.pay_flow`, `bench.pay_bench`): the ledger that decides whether every
payment reached `success` exactly once, the payer's cookie and form handling, and the figures results.md shows.
No servers: `make bench` runs the flow itself."""

from __future__ import annotations

from bench.load import CLIENT, Usage
from bench.pay_bench import ceiling_per_second, cpu_per_payment, percentile
from bench.pay_flow import compare, cookies_of, csrf_token_of, path_of, payer_address

CONFIRMED, CAPTURED, STARTED = "CAPTURE_APPROVED", "CAPTURED", "ENTERING_CARD_DETAILS"


def test_a_clean_run_has_every_created_payment_success_once() -> None:
    rows = {"a": (CONFIRMED, 1), "b": (CAPTURED, 1)}
    ledger = compare(["a", "b"], ["a", "b"], rows)
    assert (ledger.created, ledger.completed) == (2, 2)
    assert ledger.clean


def test_lost_duplicated_unfinished_and_unexpected_payments_are_counted() -> None:
    rows = {
        "done": (CONFIRMED, 1),
        "twice": (CAPTURED, 2),  # entered success twice
        "not success": (STARTED, 0),  # the payer was sent back, but pay never recorded the payment as paid
        "abandoned": (STARTED, 0),  # a step failed: created, never completed
        "stray": (CONFIRMED, 1),  # no 201 answered for it
    }
    created = ["done", "twice", "not success", "abandoned", "missing"]
    completed = ["done", "twice", "not success", "missing"]
    ledger = compare(created, completed, rows)
    assert (ledger.lost, ledger.duplicated, ledger.unfinished, ledger.unexpected) == (2, 1, 1, 1)
    assert not ledger.clean


def test_the_payer_keeps_cookies_and_reads_the_forms_token() -> None:
    jar: dict[str, str] = {"pay_session": "old"}
    cookies_of(["pay_session=sealed.value-_; Max-Age=5400; Path=/; Secure; HttpOnly; SameSite=lax"], jar)
    cookies_of(["__Host-gaap-csrf=abc; Path=/; Secure"], jar)
    assert jar == {"pay_session": "sealed.value-_", "__Host-gaap-csrf": "abc"}
    html = '<form><input type="hidden" name="csrf_token" value="tok-EN_1"></form>'
    assert csrf_token_of(html) == "tok-EN_1"
    assert csrf_token_of("<p>No form</p>") is None


def test_links_on_the_public_origin_are_followed_on_the_gateway() -> None:
    assert path_of("https://gaap.bench.invalid/secure/abc?x=1") == "/secure/abc?x=1"
    assert path_of("/card_details/p1/confirm") == "/card_details/p1/confirm"


def test_each_payer_has_an_address_of_its_own() -> None:
    addresses = {payer_address(i) for i in range(70_000)}
    assert len(addresses) == 70_000
    assert payer_address(0) == "10.0.0.0" and payer_address(65_793) == "10.1.1.1"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) is None


def test_cpu_per_payment_by_process_group() -> None:
    usage = Usage(
        seconds=10.0,
        cpu={"gateway-pay-2w": 2.0, "pay": 5.0, "postgres": 1.0, "redis": 0.1, CLIENT: 0.5, "bare": 0.01},
        foreign_cores=0.0,
    )
    per = cpu_per_payment(usage, 1000)
    assert per == {"gateway": 2000.0, "pay API": 5000.0, "postgres": 1000.0, "redis": 100.0, "harness": 500.0}
    assert cpu_per_payment(usage, 0) == {} and cpu_per_payment(None, 10) == {}


def test_the_cpu_ceiling_is_the_cores_over_a_payments_cpu() -> None:
    assert ceiling_per_second({"pay API": 50_000.0, "gateway": 30_000.0}, cores=2) == 25.0
    assert ceiling_per_second({}, cores=2) is None

"""Two replicas of every role, on hosts of their own, competing for the same work (issue 9's scale-out test).

Texts go through the round-robin balancer, so both gateways and both notify APIs accept them; for every accepted
text a rival copy of its delivery job is queued beside the API's own, so both notify workers race for the same
rows. Payments are captured through both gateways at once (so both pay APIs race for the same row), and a rival
capture job is queued beside the API's, so both pay workers race for the same capture. What must hold
(ARCHITECTURE rules 2 and 3): every accepted text reaches the provider exactly once and ends `delivered`, and
every payment is captured exactly once: one claim of its capture (the provider call), one `CAPTURED` event.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bench.ledger import wait_for_delivery
from bench.scaleout import PROBE_PORT, ScaleOut
from gaap.jobs import JobQueue
from gateway.demo_templates import NotifyKeyAuth

TEXTS = 500
PAYMENTS = 50
CONCURRENCY = 32
#: Ofcom's drama range: numbers that can never reach a phone. From 300 up, which leaves out notify's smoke-test
#: numbers (…000, …111, …222: answered 201, never stored or sent) and the provider's failing ones (…002, …003).
PHONE = "07700900{:03d}"
PHONES = 600
#: Clients drop idle connections before the gateway does (uvicorn's keep-alive timeout there is 5 s), so a request
#: never goes out on a connection the server is closing at that moment.
LIMITS = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=2.0)
CARD = {"card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/39", "cardholder_name": "Ada Lovelace"}


def metric_total(url: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus counter's samples whose labels include `labels`, from one process's /metrics."""
    answer = httpx.get(url, timeout=10)
    answer.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def send_texts(platform: ScaleOut, rivals: JobQueue) -> tuple[list[str], Counter[str]]:
    """TEXTS sends through the balancer, CONCURRENCY at a time; after each 201 a rival delivery job is queued."""
    assert platform.tenant is not None
    accepted: list[str] = []
    refused: Counter[str] = Counter()
    numbers = iter(range(TEXTS))
    template = platform.tenant.sms_template

    async def one_by_one(client: httpx.AsyncClient) -> None:
        for n in numbers:
            body = {
                "phone_number": PHONE.format(300 + n % PHONES),
                "template_id": template,
                "personalisation": {"ref": n},
            }
            answer = await client.post("/v2/notifications/sms", json=body)
            if answer.status_code != 201:
                refused[f"{answer.status_code} {answer.text[:200]}"] += 1
                continue
            ident = answer.json()["id"]
            accepted.append(ident)
            await rivals.enqueue("deliver", ident, lane="normal", dedupe_key=f"{ident}-rival")

    auth = NotifyKeyAuth(platform.tenant.notify_key)
    async with httpx.AsyncClient(base_url=platform.balancer_url, auth=auth, timeout=30, limits=LIMITS) as client:
        await asyncio.gather(*(one_by_one(client) for _ in range(CONCURRENCY)))
    return accepted, refused


async def post(client: httpx.AsyncClient, path: str, body: dict[str, object] | None = None) -> httpx.Response:
    """A POST that waits out Pay's per-account rate limit (40 POSTs a second, shared by every gateway through
    Redis) as a client should: on 429, again after its `Retry-After`."""
    for _ in range(20):
        answer = await client.post(path, json=body)
        if answer.status_code != 429:
            return answer
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer


def pay_client(platform: ScaleOut, base_url: str) -> httpx.AsyncClient:
    assert platform.tenant is not None
    headers = {"Authorization": f"Bearer {platform.tenant.pay_key}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, limits=LIMITS)


async def capturable_payments(platform: ScaleOut) -> list[str]:
    """PAYMENTS delayed-capture MOTO payments, created and authorised through the balancer."""
    async with pay_client(platform, platform.balancer_url) as client:

        async def one(n: int) -> str:
            body = {"amount": 1000 + n, "reference": f"SO-{n}", "description": "Scale-out", "delayed_capture": True}
            created = await post(client, "/v1/payments", {**body, "authorisation_mode": "moto_api"})
            assert created.status_code == 201, created.text
            token = created.json()["_links"]["auth_url_post"]["params"]["one_time_token"]
            authorised = await post(client, "/v1/auth", {"one_time_token": token, **CARD})
            assert authorised.status_code == 204, authorised.text
            return str(created.json()["payment_id"])

        return list(await asyncio.gather(*(one(n) for n in range(PAYMENTS))))


async def payment_rows(platform: ScaleOut, ids: list[str]) -> dict[str, tuple[str, int, Counter[str]]]:
    """Payment id -> (status, attempt, its events by status)."""
    db = platform.database("pay")
    try:
        async with db.read_session() as session:
            rows = await session.execute(
                text("SELECT id, status, attempt FROM payments WHERE id = ANY(:ids)"), {"ids": ids}
            )
            events = await session.execute(
                text("SELECT payment_id, status FROM payment_events WHERE payment_id = ANY(:ids)"), {"ids": ids}
            )
            by_payment: dict[str, Counter[str]] = {ident: Counter() for ident in ids}
            for payment_id, status in events:
                by_payment[payment_id][status] += 1
            return {ident: (status, attempt, by_payment[ident]) for ident, status, attempt in rows}
    finally:
        await db.dispose()


async def capture_through_both_gateways(platform: ScaleOut, ids: list[str], rivals: JobQueue) -> Counter[int]:
    """Each capture sent through gateway-0 and gateway-1 at once, then a rival capture job queued; the answers'
    statuses are returned."""
    statuses: Counter[int] = Counter()
    clients = [pay_client(platform, platform.url(f"gateway-{i}")) for i in range(2)]
    try:

        async def capture(ident: str) -> None:
            answers = await asyncio.gather(*(post(c, f"/v1/payments/{ident}/capture") for c in clients))
            statuses.update(a.status_code for a in answers)
            await rivals.enqueue("capture_payment", ident, lane="provider", dedupe_key=f"{ident}-rival")

        await asyncio.gather(*(capture(ident) for ident in ids))
    finally:
        for client in clients:
            await client.aclose()
    return statuses


async def test_replicas_competing_deliver_each_text_and_capture_each_payment_once(platform: ScaleOut) -> None:
    """Texts and captures with two replicas of everything competing; then identity's replicas agree on their keys."""
    assert platform.redis is not None and platform.net is not None
    started = time.monotonic()
    notify_jobs = JobQueue.from_url(platform.redis.url, "notify")
    pay_jobs = JobQueue.from_url(platform.redis.url, "pay")
    try:
        (accepted, refused), payments = await asyncio.gather(
            send_texts(platform, notify_jobs), capturable_payments(platform)
        )
        before = await payment_rows(platform, payments)
        answers = await capture_through_both_gateways(platform, payments, pay_jobs)
    finally:
        await notify_jobs.redis.aclose()
        await pay_jobs.redis.aclose()

    assert not refused, f"sends refused: {refused}"
    assert len(accepted) == TEXTS
    assert answers == Counter({204: 2 * PAYMENTS}), f"capture answers: {answers}"
    assert {status for status, _attempt, _events in before.values()} == {"AWAITING_CAPTURE_REQUEST"}

    db = platform.database("notify")
    try:
        delivery, _waited = await wait_for_delivery(db, platform.workdir / "sms", patience=45, accepted=accepted)
    finally:
        await db.dispose()
    assert not delivery.lost, f"lost: {delivery.lost[:10]}; {delivery.describe()}"
    assert delivery.rows == TEXTS
    assert delivery.finished and delivery.statuses == Counter({"delivered": TEXTS}), delivery.describe()
    assert not delivery.lost and delivery.duplicated == 0 and not delivery.unknown, delivery.describe()

    deadline = time.monotonic() + 30
    while True:
        after = await payment_rows(platform, payments)
        if all(status == "CAPTURED" for status, _a, _e in after.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    for ident, (status, attempt, events) in after.items():
        assert status == "CAPTURED", f"{ident} is {status}"
        # One claim of the capture (the one provider call), one approval, one capture.
        assert attempt == before[ident][1] + 1, f"{ident}: capture claimed {attempt - before[ident][1]} times"
        assert events["CAPTURE_APPROVED"] == 1 and events["CAPTURED"] == 1, f"{ident}: {events}"

    # The replicas really competed: both gateways answered, both notify and both pay workers ran jobs.
    for i in range(2):
        gateway = metric_total(platform.url(f"gateway-{i}", "/metrics"), "gaap_http_requests_total")
        assert gateway > 0, f"gateway-{i} answered nothing"
        for component, task in (("notify", "deliver"), ("pay", "capture_payment")):
            probe = platform.url(f"{component}-worker-{i}", "/metrics", PROBE_PORT)
            ran = metric_total(probe, "gaap_jobs_handled_total", task=task, outcome="ok")
            assert ran > 0, f"{component}-worker-{i} ran no {task} job"
    assert time.monotonic() - started < 60

    # Two identity replicas started at once agree on the keys they sign with, whichever gateway is asked. (One test
    # rather than two: under xdist two tests of a module may land on two workers, each starting its own platform.)
    kids = []
    async with httpx.AsyncClient(timeout=10, limits=LIMITS) as client:
        for i in range(2):
            answer = await client.get(platform.url(f"gateway-{i}", "/.well-known/jwks.json"))
            assert answer.status_code == 200, answer.text
            kids.append(sorted(key["kid"] for key in answer.json()["keys"]))
    assert kids[0], "identity publishes no signing key"
    assert kids[0] == kids[1], f"the identity replicas publish different keys: {kids}"

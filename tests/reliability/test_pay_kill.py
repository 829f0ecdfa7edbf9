"""Pay survives its API process and its worker being SIGKILLed during payment load (issue 9): every payment the API
accepted exists with a state its event history leads to through the transition table, none is captured twice, and
every webhook message reaches the department's receiver at least once.

The load is what a department's back office does with delayed-capture MOTO payments: create (`moto_api`), authorise
by API (`POST /v1/auth`, the sandbox's test card), then capture (`POST .../capture`, which §5.5 makes a no-op once the
payment is `success`, so the client retries it across a kill); the worker captures with the provider and the
`card_payment_captured` message goes to the rig's receiver. §12 promises at least once with a message id stable
across retries: a receiver de-duplicates on `webhook_message_id`, so a second copy of one message after a kill is
allowed (and counted), but a second message, or a second `CAPTURED` event, for one payment is a capture twice.

A kill of the API mid-authorisation leaves the payment `started` (`AUTHORISATION_READY`): the one-time token is
spent, and expiry ends it later (§9.3), which this run does not wait for; such payments are counted, and must never
have been captured. The rig shortens the worker's leases, job timeout and sweeps (`PAY_*` in rig.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count, pairwise

import httpx
from sqlalchemy import text

from services.pay.payments.states import TRANSITIONS, Status
from tests.reliability.checks import eventually
from tests.reliability.conftest import Profile, WebhookReceiver
from tests.reliability.rig import Platform

CARD = {"card_number": "4444333322221111", "cvc": "123", "expiry_date": "12/39", "cardholder_name": "Ada Lovelace"}
CAPTURED_EVENT = "card_payment_captured"
#: Every (from, to) step the transition table allows.
STEPS = {(before.value, after.value) for table in TRANSITIONS.values() for before, after in table.items()}
#: How long a client keeps retrying one call while pay is down or restarting.
RETRY_FOR = 60.0


@dataclass
class PaymentRun:
    """What the clients saw: payments created (201), authorised (204, or found `capturable` after a lost answer),
    captured (204), left `started` by a kill mid-authorisation, and every refusal by status and body."""

    created: list[str] = field(default_factory=list)
    authorised: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    done: bool = False


async def retried(run: PaymentRun, what: str, send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """`send()` until pay itself answers: a 503 or 504 from the gateway (pay unreachable or not answering), a 429, or
    a transport error is retried after a pause."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            response = await send()
        except httpx.HTTPError as exc:
            run.refused[f"{what}: transport {type(exc).__name__}"] += 1
        else:
            if response.status_code not in (429, 502, 503, 504):
                return response
            run.refused[f"{what}: {response.status_code} {response.text[:120]}"] += 1
        if time.monotonic() > deadline:
            raise AssertionError(f"pay did not answer {what} for {RETRY_FOR:g}s: {dict(run.refused)}")
        await asyncio.sleep(0.2)


async def one_payment(pay: httpx.AsyncClient, anonymous: httpx.AsyncClient, run: PaymentRun, n: int) -> None:
    body = {
        "amount": 1000 + n,
        "reference": f"kill-{n}",
        "description": "Reliability payment",
        "authorisation_mode": "moto_api",
        "delayed_capture": True,
    }
    try:
        made = await pay.post("/v1/payments", json=body)
    except httpx.HTTPError as exc:
        made = None
        run.refused[f"create: transport {type(exc).__name__}"] += 1
    if made is None or made.status_code != 201:
        # Not accepted: the client tries again a moment later with a new payment. (One that committed just before
        # a kill exists without its client knowing; nothing below relies on it.)
        if made is not None:
            run.refused[f"create: {made.status_code} {made.text[:120]}"] += 1
        await asyncio.sleep(0.2)
        return
    payment_id = made.json()["payment_id"]
    run.created.append(payment_id)
    token = made.json()["_links"]["auth_url_post"]["params"]["one_time_token"]
    while True:
        auth = await retried(run, "auth", lambda: anonymous.post("/v1/auth", json={"one_time_token": token, **CARD}))
        if auth.status_code == 204:
            break
        # The answer was lost to a kill, or the token was spent by a request a kill interrupted: ask the payment.
        state = await retried(run, "get", lambda: pay.get(f"/v1/payments/{payment_id}"))
        assert state.status_code == 200, state.text
        status = state.json()["state"]["status"]
        if status == "capturable":
            break
        if status == "started":
            run.interrupted.append(payment_id)
            return
        assert status == "created", f"{payment_id} after /v1/auth answered {auth.status_code} {auth.text}: {status}"
    run.authorised.append(payment_id)
    capture = await retried(run, "capture", lambda: pay.post(f"/v1/payments/{payment_id}/capture"))
    assert capture.status_code == 204, f"{payment_id}: {capture.status_code} {capture.text}"
    run.captured.append(payment_id)


async def make_payments(platform: Platform, run: PaymentRun, at_least: int, kills_done: asyncio.Event) -> None:
    """Payments, 8 at a time, until `at_least` were started and the kills are over."""
    numbers = count()

    async def client(pay: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
        while (n := next(numbers)) < at_least or not kills_done.is_set():
            await one_payment(pay, anonymous, run, n)

    async with (
        platform.pay_client(timeout=30) as pay,
        httpx.AsyncClient(base_url=platform.url(), timeout=30) as anonymous,
    ):
        await asyncio.gather(*(client(pay, anonymous) for _ in range(8)))
    run.done = True


async def kill_in_turn(platform: Platform, run: PaymentRun, kills: int, webhooks: WebhookReceiver) -> list[str]:
    """SIGKILL the pay API and the pay worker in turn, `kills` times each, restarting each at once, once captures are
    flowing; returns what each kill interrupted (captures and webhooks so far)."""
    while len(webhooks.captured()) < 10:
        platform.check_alive(["pay", "pay-worker"])
        await asyncio.sleep(0.2)
    at_kill: list[str] = []
    for name in ["pay", "pay-worker"] * kills:
        assert not run.done, f"the load ended before kill {len(at_kill) + 1}: {at_kill}"
        at_kill.append(f"{name} at {len(run.captured)} captures, {len(webhooks.captured())} webhooks")
        proc = platform.procs[name]
        proc.kill()
        proc.start(wait=False)
        await asyncio.to_thread(proc.wait_ready, 60)
        await asyncio.sleep(1.5)
    return at_kill


async def ledger(
    platform: Platform, ids: list[str]
) -> tuple[dict[str, str], dict[str, list[str]], list[tuple[str, str, str]]]:
    """Pay's own record of `ids`: status by payment, event statuses in order, and `card_payment_captured` messages
    as (payment, message id, status)."""
    db = platform.database("pay")
    try:
        async with db.read_session() as session:
            statuses: dict[str, str] = dict(
                (
                    await session.execute(text("SELECT id, status FROM payments WHERE id = ANY(:ids)"), {"ids": ids})
                ).all()
            )
            events: dict[str, list[str]] = {payment_id: [] for payment_id in ids}
            rows = await session.execute(
                text("SELECT payment_id, status FROM payment_events WHERE payment_id = ANY(:ids) ORDER BY id"),
                {"ids": ids},
            )
            for payment_id, status in rows.all():
                events[payment_id].append(status)
            messages = await session.execute(
                text(
                    "SELECT payment_id, id, status FROM webhook_messages"
                    " WHERE payment_id = ANY(:ids) AND event_type = :event"
                ),
                {"ids": ids, "event": CAPTURED_EVENT},
            )
            return statuses, events, [(row[0], row[1], row[2]) for row in messages.all()]
    finally:
        await db.dispose()


def assert_consistent(payment_id: str, status: str, events: list[str]) -> None:
    """The history starts at `CREATED`, takes only steps the transition table has, and ends in the status held."""
    assert events and events[0] == Status.CREATED, (payment_id, events)
    for step in pairwise(events):
        assert step in STEPS, f"{payment_id}: {step} is not a transition ({events})"
    assert events[-1] == status, f"{payment_id} is {status} but its events end {events}"


async def test_pay_api_and_worker_sigkilled_during_payments(
    platform: Platform, webhooks: WebhookReceiver, profile: Profile
) -> None:
    started = time.monotonic()
    run = PaymentRun()
    kills_done = asyncio.Event()
    load = asyncio.create_task(make_payments(platform, run, profile.payments, kills_done))
    try:
        at_kill = await kill_in_turn(platform, run, profile.pay_kills, webhooks)
    finally:
        kills_done.set()
    await load
    loaded = time.monotonic() - started
    assert run.created and len(run.captured) + len(run.interrupted) == len(run.created), run

    captured = set(run.captured)

    async def all_captured_and_delivered() -> bool:
        platform.check_alive()
        statuses, _, messages = await ledger(platform, run.captured)
        delivered = webhooks.captured()
        return all(statuses.get(p) == Status.CAPTURED for p in captured) and all(
            status == "SUCCESSFUL" and message in delivered.get(payment, set()) for payment, message, status in messages
        ) and {payment for payment, _, _ in messages} == captured  # fmt: skip

    try:
        await eventually(all_captured_and_delivered, within=60, what="every capture done and its webhook delivered")
    finally:
        statuses, events, messages = await ledger(platform, run.created)
        missing = set(run.created) - set(statuses)
        assert not missing, f"{len(missing)} payments answered 201 but are not in pay's database: {sorted(missing)[:5]}"
        for payment_id in run.created:
            assert_consistent(payment_id, statuses[payment_id], events[payment_id])
        captures = Counter(p for p in run.created for status in events[p] if status == Status.CAPTURED)
        assert all(n == 1 for n in captures.values()), f"captured twice: {captures.most_common(5)}"
        per_payment = Counter(payment for payment, _, _ in messages)
        assert all(n == 1 for n in per_payment.values()), f"two capture messages: {per_payment.most_common(5)}"
        unsent = [(message, status) for _, message, status in messages if status != "SUCCESSFUL"]
        assert not unsent, f"{len(unsent)} capture messages not delivered by pay's account: {unsent[:5]}"
        received = webhooks.captured()
        assert set(received) <= captured, f"captures nobody asked for: {sorted(set(received) - captured)[:5]}"
        twice = {payment: ids for payment, ids in received.items() if len(ids) > 1}
        assert not twice, f"{len(twice)} payments' captures were announced by two messages: {list(twice.items())[:5]}"
        not_captured = {p: statuses[p] for p in captured if statuses[p] != Status.CAPTURED}
        assert not not_captured, f"{len(not_captured)} captures never done: {list(not_captured.items())[:5]}"
        undelivered = captured - set(received)
        assert not undelivered, f"{len(undelivered)} capture webhooks never delivered: {sorted(undelivered)[:5]}"
    # Left `started`, or `capturable` if the authorisation finished after the gateway stopped waiting for it.
    for payment_id in run.interrupted:
        assert statuses[payment_id] in (Status.AUTHORISATION_READY, Status.AWAITING_CAPTURE_REQUEST), (
            payment_id,
            statuses[payment_id],
        )

    # At least once: a message sent again after a kill carries the same id and the same body (§12).
    with webhooks.lock:
        copies = {message: list(bodies) for message, bodies in webhooks.deliveries.items()}
    redelivered = {message: len(bodies) for message, bodies in copies.items() if len(bodies) > 1}
    for message in redelivered:
        assert all(body == copies[message][0] for body in copies[message]), f"{message}'s copies differ"
    print(
        f"{len(run.created)} payments ({len(run.captured)} captured, {len(run.interrupted)} left `started` by a kill"
        f" mid-authorisation), kills {at_kill}; {len(redelivered)} webhook messages delivered again after a kill;"
        f" load {loaded:.1f}s, all delivered {time.monotonic() - started:.1f}s; retried: {dict(run.refused)}"
    )

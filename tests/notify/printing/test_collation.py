"""notify spec §16.5: letters accepted before the 17:30 (London) cut-off go to the print provider in the first
collation after it, with their PDFs and sheets billed; later ones wait for the next working day's; a failed or
interrupted hand-over is retried without the provider ever getting a letter twice. End to end: sent through the
gateway with the official client, collated by the worker's job on a test clock, handed to the fake print provider
over HTTP, whose reports come back through the gateway."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from gaap.db import Database
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.delivery import letters as print_letters
from services.notify.delivery.print_days import LONDON, cut_off_on, estimated_delivery, print_day
from services.notify.formats import iso
from services.notify.letters.storage import letter_store
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import client, eventually, insert_row, row_of, status_becomes
from tests.notify.printing.conftest import ADDRESS, PrintFake, collate_at, collation, mine, uid

MINUTE = timedelta(minutes=1)


async def send_letter(rig: NotifyRig, name: str = "Ada") -> str:
    api = client(rig, "live")
    sent = await asyncio.to_thread(
        api.send_letter_notification, rig.templates["letter"], {"name": name, **ADDRESS}, f"ref-{name}"
    )
    return str(sent["id"])


async def cut_off_of(db: Database, ident: str) -> datetime:
    """The cut-off whose collation should take this letter."""
    row = await row_of(db, ident)
    assert row is not None
    return cut_off_on(print_day(row.created_at))


async def test_a_letter_accepted_before_the_cut_off_is_printed_after_it_and_received(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake
) -> None:
    ident = await send_letter(notify_rig)
    cut_off = await cut_off_of(db, ident)
    before = printer.stats()

    early = await collate_at(notify_rig, email_sink, printer, cut_off - MINUTE)
    assert not mine(early, ident)
    assert (await row_of(db, ident)).status == "created"  # type: ignore[union-attr]

    run = await collate_at(notify_rig, email_sink, printer, cut_off + MINUTE)
    assert mine(run, ident) == {ident} and run.cut_off == cut_off
    row = await row_of(db, ident)
    assert row is not None and row.status == "sending" and row.sent_by == "print" and row.billable_units == 1
    held = printer.letter(ident)
    assert held is not None and held["address"] == ["A. Citizen", "1 High Street", "SW1A 1AA"]
    assert held["postage"] == "second" and held["pages"] == 1 and held["batch_id"] == row.reference
    async with db.read_session() as session:  # the PDF printed is the one kept, and `GET …/pdf` serves
        assert printer.pdf(ident) == await letter_store(session).get(uid(ident))

    await status_becomes(db, ident, "delivered")  # the fake's print confirmation, through the gateway
    got = await asyncio.to_thread(client(notify_rig).get_notification_by_id, ident)
    assert got["status"] == "received"
    assert got["is_cost_data_ready"] is True and got["cost_in_pounds"] == 0.54
    assert got["cost_details"] == {"billable_sheets_of_paper": 1, "postage": "second"}
    assert got["sent_at"] == iso(row.sent_at) and got["completed_at"] is not None
    assert got["estimated_delivery"] == iso(estimated_delivery(row.created_at, "second"))
    assert estimated_delivery(row.created_at, "second") > cut_off

    again = await collate_at(notify_rig, email_sink, printer, cut_off + 2 * MINUTE)  # a second run: nothing more
    assert not mine(again, ident)
    after = printer.stats()
    assert after["duplicates"] == before["duplicates"] == 0


async def test_a_letter_after_the_cut_off_waits_for_the_next_working_day(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake
) -> None:
    friday = datetime(2031, 1, 10, 17, 31, tzinfo=LONDON)  # a minute after Friday's cut-off
    ident = await insert_row(
        db,
        notify_rig,
        key_type="normal",
        notification_type="letter",
        template_id=uid(notify_rig.templates["letter"]),
        to="A. Citizen\n1 High Street\nSW1A 1AA",
        normalised_to=None,
        personalisation={"name": "Ada", **ADDRESS},
        body="Dear Ada,\n\nYour licence is enclosed.",
        subject="Your licence",
        postage="first",
        created_at=friday,
    )
    monday = cut_off_on(friday.date() + timedelta(days=3))
    assert monday == datetime(2031, 1, 13, 17, 30, tzinfo=LONDON)
    for when in (friday + MINUTE, friday + timedelta(days=2), monday - MINUTE):  # Friday night, the weekend
        assert not mine(await collate_at(notify_rig, email_sink, printer, when), ident)
    assert mine(await collate_at(notify_rig, email_sink, printer, monday), ident) == {str(ident)}
    row = await status_becomes(db, ident, "delivered")
    assert row.billable_units == 1
    # first class: printed Monday, delivered the next working day
    assert estimated_delivery(row.created_at, "first") == datetime(2031, 1, 14, 16, 0, tzinfo=LONDON)


async def test_a_failed_hand_over_is_retried_and_sends_each_letter_once(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake
) -> None:
    idents = [await send_letter(notify_rig, name) for name in ("Bea", "Cy")]
    cut_off = max([await cut_off_of(db, i) for i in idents])
    before = printer.stats()

    printer.control(mode="error", error_status=503)
    failed = await collate_at(notify_rig, email_sink, printer, cut_off + MINUTE)
    assert {str(i) for i in failed.retrying} >= set(idents) and not mine(failed, *idents)
    row = await row_of(db, idents[0])
    assert row is not None and row.status == "created" and row.sent_by is None  # refused: unpinned
    assert row.next_attempt_at == cut_off + MINUTE + timedelta(seconds=300)

    printer.reset()
    too_soon = await collate_at(notify_rig, email_sink, printer, cut_off + 2 * MINUTE)
    assert not mine(too_soon, *idents)  # not due again yet
    retried = await collate_at(notify_rig, email_sink, printer, cut_off + 7 * MINUTE)
    assert mine(retried, *idents) == set(idents)
    for again in (8, 9):  # the job run twice more
        assert not mine(await collate_at(notify_rig, email_sink, printer, cut_off + again * MINUTE), *idents)
    for ident in idents:
        await status_becomes(db, ident, "delivered")
    after = printer.stats()
    assert after["errors"] - before["errors"] >= 1 and after["duplicates"] == 0


async def test_a_worker_stopped_mid_batch_leaves_nothing_printed_twice(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake
) -> None:
    idents = [await send_letter(notify_rig, name) for name in ("Dee", "Eli", "Fay")]
    cut_off = max([await cut_off_of(db, i) for i in idents])
    before = printer.stats()
    # The provider takes the batch but answers late: the worker dies while it waits for the answer.
    printer.control(mode="slow", delay_seconds=5)
    async with collation(notify_rig, email_sink, printer, lambda: cut_off + MINUTE) as ctx:
        run = asyncio.create_task(print_letters.collate(ctx))

        async def taken() -> bool:
            return all(printer.letter(i) is not None for i in idents)

        await eventually(taken, within=30)
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
    for ident in idents:
        row = await row_of(db, ident)
        assert row is not None and row.status == "created" and row.sent_by == "print"  # pinned: may be there

    printer.reset()
    lease_over = cut_off + MINUTE + print_letters.LEASE + MINUTE
    assert not mine(await collate_at(notify_rig, email_sink, printer, cut_off + 2 * MINUTE), *idents)  # leased
    resumed = await collate_at(notify_rig, email_sink, printer, lease_over)
    assert mine(resumed, *idents) == set(idents)  # found at the provider, recorded without sending again
    for ident in idents:
        await status_becomes(db, ident, "delivered")
    after = printer.stats()
    assert after["duplicates"] == 0 and after["lookups"] > before["lookups"]
    assert after["accepted"] - before["accepted"] >= len(idents)

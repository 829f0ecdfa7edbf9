"""notify spec §16.5, §14: the print provider's reports through the gateway. A rejection is a `technical-failure`;
a returned letter is `returned-letter` (shown `received`) and owes the service its signed returned-letter callback,
sent by the real worker; the webhook checks the provider's credentials and is idempotent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gaap.db import Database
from gaap.embedded.fake_print import default_credentials
from gaap.embedded.smtp_sink import SmtpSink
from services.notify.callbacks.config import CallbackSetting, apply_callbacks
from services.notify.callbacks.models import RETURNED_LETTER
from services.notify.formats import iso
from tests.notify.callbacks.conftest import TOKEN, Receiver
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import client, eventually, insert_row, running_worker, status_becomes
from tests.notify.printing.conftest import PrintFake, collate_at, mine, print_settings
from tests.notify.printing.test_collation import cut_off_of, send_letter

PRINT = default_credentials()
RETURNED_KEYS = [
    "notification_id",
    "reference",
    "date_sent",
    "sent_by",
    "template_name",
    "template_id",
    "template_version",
    "spreadsheet_file_name",
    "spreadsheet_row_number",
    "upload_letter_file_name",
]


async def printed(rig: NotifyRig, db: Database, sink: SmtpSink, fake: PrintFake, name: str) -> str:
    ident = await send_letter(rig, name)
    run = await collate_at(rig, sink, fake, await cut_off_of(db, ident) + timedelta(minutes=1))
    assert mine(run, ident) == {ident}
    return ident


async def post_report(rig: NotifyRig, reference: object, status: str, *, auth: Any = PRINT, provider: str = "print"):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=rig.url, auth=auth) as http:
        return await http.post(
            f"/notifications/letter/{provider}", json={"reference": str(reference), "status": status}
        )


async def test_a_rejected_letter_is_a_technical_failure(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake
) -> None:
    printer.control(mode="reject")
    ident = await printed(notify_rig, db, email_sink, printer, "Gil")
    await status_becomes(db, ident, "technical-failure")
    got = await asyncio.to_thread(client(notify_rig).get_notification_by_id, ident)
    assert got["status"] == "technical-failure" and got["completed_at"] is not None
    late = await post_report(notify_rig, ident, "printed")  # a final status never moves back
    assert late.json() == {"notification_id": ident, "result": "unchanged", "status": "technical-failure"}


async def test_a_returned_letter_owes_the_returned_letter_callback(
    notify_rig: NotifyRig, db: Database, email_sink: SmtpSink, printer: PrintFake, receiver: Receiver
) -> None:
    setting = CallbackSetting(url=receiver.url, bearer_token=TOKEN)
    async with db.write_session() as session:
        secrets = await apply_callbacks(session, notify_rig.service_id, {RETURNED_LETTER: setting}, development=True)
    receiver.reset(secret=secrets[RETURNED_LETTER])
    try:
        ident = await printed(notify_rig, db, email_sink, printer, "Hal")
        row = await status_becomes(db, ident, "delivered")
        async with running_worker(notify_rig, email_sink, **print_settings(printer)):
            answer = printer.return_letter(ident)  # Royal Mail brings it back, through the gateway
            assert answer.status_code == 200, answer.text
            await status_becomes(db, ident, "returned-letter")

            async def called() -> bool:
                return any(a.json.get("notification_id") == ident for a in receiver.attempts)

            await eventually(called, within=30)  # the callbacks sweep relays what the webhook owed
        [attempt] = [a for a in receiver.attempts if a.json.get("notification_id") == ident]
        assert attempt.signature_ok and attempt.token_ok
        assert list(attempt.json) == RETURNED_KEYS
        assert attempt.json == {
            "notification_id": ident,
            "reference": "ref-Hal",
            "date_sent": iso(row.sent_at),
            "sent_by": None,
            "template_name": "Licence letter",
            "template_id": notify_rig.templates["letter"],
            "template_version": row.template_version,
            "spreadsheet_file_name": None,
            "spreadsheet_row_number": None,
            "upload_letter_file_name": None,
        }
        got = await asyncio.to_thread(client(notify_rig).get_notification_by_id, ident)
        assert got["status"] == "received"
        again = await post_report(notify_rig, ident, "returned")
        assert again.json()["result"] == "unchanged"  # no second callback
        assert len([a for a in receiver.attempts if a.json.get("notification_id") == ident]) == 1
    finally:
        async with db.write_session() as session:
            await apply_callbacks(session, notify_rig.service_id, {RETURNED_LETTER: None}, development=True)


async def test_a_report_that_overtakes_the_collation_is_refused_until_the_letter_is_sending(
    notify_rig: NotifyRig, db: Database
) -> None:
    ident = await insert_row(
        db, notify_rig, key_type="normal", notification_type="letter", sent_by="print", attempt=1, to="A\nB\nSW1A 1AA"
    )
    early = await post_report(notify_rig, ident, "printed")
    assert early.status_code == 409 and early.json()["error"] == "NotHandedOverYet"


@pytest.mark.parametrize(
    ("auth", "provider", "status"),
    [(None, "print", 401), (("print", "wrong"), "print", 401), (PRINT, "docmail", 404)],
)
async def test_only_the_print_provider_with_its_credentials_may_report(
    notify_rig: NotifyRig, auth: Any, provider: str, status: int
) -> None:
    answer = await post_report(
        notify_rig, "5f0c7a53-29a1-4c5e-9a7e-3d1b2c4e5f60", "printed", auth=auth, provider=provider
    )
    assert answer.status_code == status and "error" in answer.json()


@pytest.mark.parametrize("reference", ["5f0c7a53-29a1-4c5e-9a7e-3d1b2c4e5f60", "not-a-letter"])
async def test_reports_on_letters_it_was_not_given_are_acknowledged_and_ignored(
    notify_rig: NotifyRig, reference: str
) -> None:
    answer = await post_report(notify_rig, reference, "returned")
    assert answer.status_code == 200 and answer.json()["result"] == "ignored"


async def test_a_report_that_is_not_one_is_a_400_in_the_platform_envelope(notify_rig: NotifyRig) -> None:
    async with httpx.AsyncClient(base_url=notify_rig.url, auth=PRINT) as http:
        answer = await http.post("/notifications/letter/print", json={"reference": "x", "status": "lost"})
    assert answer.status_code == 400 and set(answer.json()) >= {"error", "message", "request_id"}

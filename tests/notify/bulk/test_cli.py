"""`gaap notify send-bulk`: a client of the API through the SDK, following the job to its end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from gaap.cli.main import app
from gaap.embedded.smtp_sink import SmtpSink
from tests.notify.conftest import NotifyRig
from tests.notify.delivery.support import running_worker


def send(rig: NotifyRig, file: Path) -> tuple[int, str]:
    args = [
        "notify",
        "send-bulk",
        str(file),
        "--template",
        rig.templates["sms"],
        "--base-url",
        rig.url,
        "--poll",
        "0.1",
    ]
    result = CliRunner().invoke(app, args, env={"GAAP_NOTIFY_KEY": rig.keys["test"]})
    return result.exit_code, result.output


async def test_send_bulk_follows_the_job_until_it_is_finished(
    notify_rig: NotifyRig, email_sink: SmtpSink, tmp_path: Path
) -> None:
    file = tmp_path / "reminders.csv"
    file.write_text("phone number,name,code\n07700900123,Ada,1\n07700900456,Bo,2\n07700900789,Cy,3\n")
    async with running_worker(notify_rig, email_sink):
        code, output = await asyncio.to_thread(send, notify_rig, file)
    assert code == 0, output
    assert "3 notifications accepted" in output
    assert "3/3" in output
    assert output.strip().splitlines()[-1].startswith("finished: ")


def test_send_bulk_lists_the_bad_rows(notify_rig: NotifyRig, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("phone number,name,code\n07700900123,Ada,1\n12,Bo,2\n")
    code, output = send(notify_rig, file)
    assert code == 1
    assert "Row 3: phone_number Not enough digits" in output

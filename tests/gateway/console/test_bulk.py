"""Bulk sends from a CSV file in the console, with the real notify behind the gateway: a file with a bad row is
reported row by row and nothing is sent; a good file becomes a job whose page shows its progress, and the send is
audited without the recipients; only members who may send can upload."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx

from tests.gateway.console.conftest import ConsoleBrowser, ConsoleRig
from tests.gateway.console.test_api_keys import _audit
from tests.gateway.console.test_messages import _log, _new_template
from tests.gateway.console.test_templates import _templates_path
from tests.identity.support import CSRF


def _upload(browser: ConsoleBrowser, url: str, name: str, csv: str) -> httpx.Response:
    """Post the upload form as a browser does: multipart, with the form's CSRF token."""
    token = CSRF.search(browser.get(url).text)
    assert token, url
    files = {"file": ("recipients.csv", csv.encode(), "text/csv")}
    browser.last = browser.client.post(url, data={"csrf_token": token.group(1), "name": name}, files=files)
    return browser.last


def _numbers(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'govuk-table__cell--numeric">\s*(\d+)\s*<', page)]


def test_a_file_with_a_bad_row_is_reported_and_nothing_is_sent(
    browser: ConsoleBrowser, console_rig: ConsoleRig
) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    template = f"{_templates_path(console_rig)}/{_new_template(browser, console_rig)}"
    assert template + "/upload" in browser.get(template).text
    good = f"good-{uuid.uuid4().hex[:8]}@example.gov.uk"
    csv = f"email address,name,ref\n{good},Ada,1\nnot-an-email,Bob,2\n"

    audited = len(asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "job.send")))
    refused = _upload(browser, template + "/upload", "Bad batch", csv)
    assert refused.status_code == 400
    assert "govuk-error-summary" in refused.text and "1 rows have errors: nothing has been sent" in refused.text
    report = re.search(r'<div id="bad-rows">(.*?)</div>', refused.text, re.DOTALL)
    assert report, refused.text[:3000]
    assert re.search(r'<th scope="row" class="govuk-table__header">\s*3\s*</th>', report.group(1)), report.group(1)
    assert good not in report.group(1)
    assert 'value="Bad batch"' in refused.text

    missing = _upload(browser, template + "/upload", "Bad batch", "name,ref\nAda,1\n")
    assert missing.status_code == 400 and "Notify refused the file" in missing.text and "email address" in missing.text
    token = CSRF.search(refused.text)
    assert token
    blank = browser.client.post(template + "/upload", data={"csrf_token": token.group(1), "name": " "})
    assert blank.status_code == 400 and "Enter a name for the job" in blank.text and "Choose a CSV file" in blank.text

    assert good not in browser.get(_log(console_rig)).text
    assert len(asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "job.send"))) == audited


def test_a_good_file_becomes_a_job_with_progress(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    admin = console_rig.admin()
    browser.sign_in_to_console(admin, _templates_path(console_rig))
    template_id = _new_template(browser, console_rig)
    upload = f"{_templates_path(console_rig)}/{template_id}/upload"
    reference = uuid.uuid4().hex[:8]
    csv = f"email address,name,ref\nada-{reference}@example.gov.uk,Ada,1\nbob-{reference}@example.gov.uk,Bob,2\n"

    sent = _upload(browser, upload, f"Batch {reference}", csv)
    assert sent.status_code == 303, sent.text[:3000]
    location = sent.headers["location"]
    found = re.fullmatch(rf"/console/services/{console_rig.demo_service_id}/jobs/([0-9a-f-]{{36}})\?sent=1", location)
    assert found, location
    job = browser.get(location)
    assert job.status_code == 200
    assert f"Batch {reference}" in job.text and "2 messages accepted for sending" in job.text
    assert "Messages by status" in job.text and sum(_numbers(job.text)) == 2

    welsh = browser.get(location.split("?")[0], params={"lang": "cy"})
    assert welsh.status_code == 200 and "Negeseuon" in welsh.text and sum(_numbers(welsh.text)) == 2
    assert browser.get(f"/console/services/{console_rig.demo_service_id}/jobs/{uuid.uuid4()}").status_code == 404

    events = asyncio.run(_audit(console_rig.gateway_db, console_rig.demo_service_id, "job.send"))
    mine = [details for actor, details in events if actor == f"console:{admin.email}"]
    assert mine and mine[-1] == {"template_id": template_id, "type": "email", "rows": 2}  # never the recipients


def test_only_members_who_may_send_can_upload(browser: ConsoleBrowser, console_rig: ConsoleRig) -> None:
    browser.sign_in_to_console(console_rig.admin(), _templates_path(console_rig))
    template = f"{_templates_path(console_rig)}/{_new_template(browser, console_rig)}"
    token = CSRF.search(browser.get(template + "/upload").text)
    assert token

    manager = ConsoleBrowser(console_rig.url)
    try:
        manager.sign_in_to_console(console_rig.member(["manage_templates"]), template)
        page = manager.get(template)
        assert page.status_code == 200 and template + "/upload" not in page.text
        assert manager.get(template + "/upload").status_code == 403
        own_token = CSRF.search(page.text)
        assert own_token
        files = {"file": ("recipients.csv", b"email address\nsomeone@example.gov.uk\n", "text/csv")}
        posted = manager.client.post(
            template + "/upload", data={"csrf_token": own_token.group(1), "name": "Not mine"}, files=files
        )
        assert posted.status_code == 403
        job = f"/console/services/{console_rig.demo_service_id}/jobs/{uuid.uuid4()}"
        assert manager.get(job).status_code == 403
    finally:
        manager.close()

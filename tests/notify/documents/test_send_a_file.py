"""Send a file by email (notify spec §12), end to end: the official client's `prepare_upload` and
`send_email_notification` unchanged through the gateway, the worker's email in the SMTP sink carrying the link, the
download pages (confirmation enforced, the file itself), retention and its purge. Real PostgreSQL, Redis, ClamAV
and SMTP."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import uuid
from datetime import timedelta

import httpx
from notifications_python_client.utils import prepare_upload
from sqlalchemy import select, update

from gaap.db import Database, utcnow
from services.notify.documents import repository
from services.notify.documents.models import Document
from services.notify.documents.service import b64_uuid
from tests.notify.delivery.support import client, final_in_api, running_worker, stored, unique_address
from tests.notify.documents.rig import CONTACT, FilesRig, csrf_token, page_client, path_of

CSV = b"name,amount\nAda,12.50\nGrace,7.25\n"
LINK = re.compile(r"https?://[^\s)\]>\"]+/d/[A-Za-z0-9_-]{22}/[A-Za-z0-9_-]{22}\?key=[A-Za-z0-9_-]{43}")


def send_file(rig: FilesRig, to: str, data: bytes = CSV, key: str = "live", **upload: object) -> dict[str, object]:
    api = client(rig.rig, key)
    personalisation = {"name": "Ada", "link_to_file": prepare_upload(io.BytesIO(data), **upload)}
    sent: dict[str, object] = api.send_email_notification(to, rig.templates["file"], personalisation)
    return sent


async def documents_of(rig: FilesRig) -> list[Document]:
    db = Database(rig.rig.notify_db, pool_size=1)
    try:
        async with db.read_session() as session:
            found = list((await session.scalars(select(Document))).all())
            session.expunge_all()  # keep the loaded values past the read session's rollback
            return found
    finally:
        await db.dispose()


def link_in(body: str) -> str:
    found = LINK.search(body)
    assert found is not None, body
    return found.group(0)


async def test_the_official_client_sends_a_file_and_the_recipient_downloads_it(files_rig: FilesRig) -> None:
    to = unique_address("ada")
    async with running_worker(files_rig.rig, files_rig.sink):
        sent = await asyncio.to_thread(
            send_file, files_rig, to, filename="report.csv", confirm_email_before_download=True
        )
        got = await final_in_api(client(files_rig.rig, "live"), str(sent["id"]))
    assert got["status"] == "delivered"
    content = sent["content"]
    assert isinstance(content, dict)
    link = link_in(str(content["body"]))
    assert link.startswith(f"{files_rig.url}/d/{b64_uuid(files_rig.rig.service_id)}/")
    assert "link_to_file" not in link and "file" not in str(content["body"]).split(link)[1]

    email = stored(files_rig.sink, str(sent["id"]))
    assert email is not None and email.text_body is not None and email.html_body is not None
    assert link in email.text_body and link.replace("&", "&amp;") in email.html_body

    rows = [d for d in await documents_of(files_rig) if b64_uuid(d.id) in link]
    assert len(rows) == 1
    document = rows[0]
    assert (document.mimetype, document.filename, document.size) == ("text/csv", "report.csv", len(CSV))
    assert CSV not in bytes(document.content), "the file is stored sealed"
    assert document.email_hash is not None
    assert timedelta(weeks=26) - (document.expires_at - document.created_at) < timedelta(seconds=1)

    async with page_client(files_rig) as browser:
        landing = await browser.get(path_of(link))
        assert landing.status_code == 200
        assert "You have a file to download" in landing.text and "Notify tests sent you a file" in landing.text
        assert landing.headers["referrer-policy"] == "no-referrer"
        assert f'href="{CONTACT}"' in landing.text
        confirm_path = path_of(link).replace("?key=", "/confirm-email-address?key=")
        assert f'href="{confirm_path}"' in landing.text.replace("&amp;", "&")

        # The download and the file itself wait for the address.
        for step in ("/download", "/file"):
            held = await browser.get(path_of(link).replace("?key=", f"{step}?key="))
            assert held.status_code == 303 and held.headers["location"] == confirm_path

        form = await browser.get(confirm_path)
        assert form.status_code == 200 and "Confirm your email address" in form.text
        token = csrf_token(form.text)
        wrong = await browser.post(
            confirm_path, data={"csrf_token": token, "email_address": "someone.else@example.com"}
        )
        assert wrong.status_code == 400
        assert "This is not the email address the file was sent to" in wrong.text
        assert wrong.text.count("This is not the email address the file was sent to") == 2  # summary and field
        blank = await browser.post(confirm_path, data={"csrf_token": token, "email_address": " "})
        assert blank.status_code == 400 and "Enter your email address" in blank.text
        bad = await browser.post(confirm_path, data={"csrf_token": token, "email_address": "not an address"})
        assert "Enter an email address in the correct format, like name@example.com" in bad.text
        forged = await browser.post(confirm_path, data={"csrf_token": "forged", "email_address": to})
        assert forged.status_code == 403

        right = await browser.post(confirm_path, data={"csrf_token": token, "email_address": f"  {to.upper()} "})
        download_path = path_of(link).replace("?key=", "/download?key=")
        assert right.status_code == 303 and right.headers["location"] == download_path
        page = await browser.get(download_path)
        assert page.status_code == 200
        assert "Download this CSV file (33 bytes) to your device" in page.text
        expiry = document.expires_at
        assert f"available to download until {expiry.day} {expiry:%B %Y}" in page.text
        file = await browser.get(path_of(link).replace("?key=", "/file?key="))
        assert file.status_code == 200 and file.content == CSV
        assert file.headers["content-type"].startswith("text/csv")
        assert file.headers["content-disposition"] == "attachment; filename*=UTF-8''report.csv"

        welsh = await browser.get(download_path + "&lang=cy")
        assert "Lawrlwythwch eich ffeil" in welsh.text and "ffeil CSV" in welsh.text

    # Another browser, without the confirmation cookie, is asked again.
    async with page_client(files_rig) as stranger:
        assert (await stranger.get(download_path)).status_code == 303


async def test_without_confirmation_the_link_alone_downloads(files_rig: FilesRig) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    sent = await asyncio.to_thread(
        send_file, files_rig, unique_address("bo"), pdf, "test", confirm_email_before_download=False
    )
    content = sent["content"]
    assert isinstance(content, dict)
    link = link_in(str(content["body"]))
    async with page_client(files_rig) as browser:
        landing = await browser.get(path_of(link))
        assert path_of(link).replace("?key=", "/download?key=") in landing.text.replace("&amp;", "&")
        page = await browser.get(path_of(link).replace("?key=", "/download?key="))
        assert page.status_code == 200 and "Download this PDF" in page.text
        file = await browser.get(path_of(link).replace("?key=", "/file?key="))
    assert file.status_code == 200 and file.content == pdf
    assert file.headers["content-type"] == "application/pdf"
    named = re.search(r"filename\*=UTF-8''([0-9a-f-]{36})\.pdf$", file.headers["content-disposition"])
    assert named is not None


async def test_links_that_are_not_links_get_404_and_expired_files_410(files_rig: FilesRig) -> None:
    sent = await asyncio.to_thread(send_file, files_rig, unique_address("cy"), key="test", retention_period="1 week")
    content = sent["content"]
    assert isinstance(content, dict)
    link = path_of(link_in(str(content["body"])))
    base, key = link.split("?key=")
    other_key = ("A" if key[0] != "A" else "B") + key[1:]
    async with page_client(files_rig) as browser:
        for broken in (f"{base}?key={other_key}", base, f"{base}?key=short", f"/d/nonsense/{base[-22:]}?key={key}"):
            answer = await browser.get(broken)
            assert answer.status_code == 404, broken
            assert "Page not found" in answer.text
        unknown = await browser.get(f"{base[:-22]}{b64_uuid(uuid.uuid4())}?key={key}")
        assert unknown.status_code == 410 and "No longer available" in unknown.text

        document_id = uuid.UUID(bytes=base64.urlsafe_b64decode(base[-22:] + "=="))
        db = Database(files_rig.rig.notify_db, pool_size=1)
        try:
            async with db.write_session() as session:
                found = await session.get(Document, document_id)
                assert found is not None
                assert timedelta(weeks=1) - (found.expires_at - found.created_at) < timedelta(seconds=1)
                await session.execute(
                    update(Document).where(Document.id == document_id).values(expires_at=utcnow() - timedelta(1))
                )
            expired = await browser.get(link)
            assert expired.status_code == 410
            assert "The file you are looking for has expired or been deleted." in expired.text
            assert (await browser.get(link.replace("?key=", "/file?key="))).status_code == 410

            assert await repository.purge_expired(db) >= 1
            async with db.read_session() as session:
                assert await session.get(Document, document_id) is None
            assert (await browser.get(link)).status_code == 410
            assert await repository.purge_expired(db) == 0
        finally:
            await db.dispose()


async def test_smoke_test_recipients_store_no_file(files_rig: FilesRig) -> None:
    before = len(await documents_of(files_rig))
    sent = await asyncio.to_thread(
        send_file, files_rig, "simulate-delivered@notifications.service.gov.uk", filename="a.csv"
    )
    content = sent["content"]
    assert isinstance(content, dict)
    assert f"/d/{b64_uuid(files_rig.rig.service_id)}/test-document" in str(content["body"])
    assert len(await documents_of(files_rig)) == before


def test_gateway_routes_the_download_pages_to_notify() -> None:
    from gateway.routing import Auth, match_path

    route = match_path("/d/abc/def")
    assert route is not None and (route.component, route.auth, route.family) == ("notify", Auth.anonymous, "html")
    assert match_path("/dx") is None


def test_a_page_that_does_not_exist_under_d_is_an_html_404(files_rig: FilesRig) -> None:
    answer = httpx.get(f"{files_rig.url}/d/only-one-part")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")

"""One-click unsubscribe (notify spec §13.3), end to end: a template with `has_unsubscribe_link` makes notify
generate the link; the worker's email in the SMTP sink carries RFC 8058's headers and a visible link; a mail
client's one-click POST through the gateway records the request once; the service reads it back in a report.
Real PostgreSQL, Redis and SMTP."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from gateway.demo_templates import NotifyKeyAuth
from tests.notify.delivery.support import client, final_in_api, running_worker, stored, unique_address
from tests.notify.documents.rig import FilesRig, page_client, path_of

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def api(rig: FilesRig, method: str, path: str, key: str = "live") -> httpx.Response:
    return httpx.request(method, f"{rig.url}{path}", auth=NotifyKeyAuth(rig.rig.keys[key]), timeout=30)


def newsletter(rig: FilesRig, to: str, **options: Any) -> dict[str, Any]:
    sent: dict[str, Any] = client(rig.rig, "live").send_email_notification(
        to, rig.templates["newsletter"], {"name": "Ada"}, **options
    )
    return sent


def drain_reports(rig: FilesRig) -> None:
    """Earlier tests' requests go into a report of their own."""
    api(rig, "POST", "/v2/unsubscribe-requests/reports")


async def test_one_click_unsubscribe_end_to_end(files_rig: FilesRig) -> None:
    await asyncio.to_thread(drain_reports, files_rig)
    to = unique_address("una")
    async with running_worker(files_rig.rig, files_rig.sink):
        sent = await asyncio.to_thread(newsletter, files_rig, to, reference="newsletter-42")
        got = await final_in_api(client(files_rig.rig, "live"), sent["id"])
    link = sent["content"]["one_click_unsubscribe_url"]
    assert link.startswith(f"{files_rig.url}/unsubscribe/{sent['id']}/")
    assert got["one_click_unsubscribe_url"] == link
    assert to.split("@")[0] not in link, "the address is sealed in the token, not shown"

    email = stored(files_rig.sink, sent["id"])
    assert email is not None and email.text_body is not None and email.html_body is not None
    assert email.header("List-Unsubscribe") == f"<{link}>"
    assert email.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe from these emails: {link}" in email.text_body
    assert link in email.html_body

    async with page_client(files_rig) as mail_client:
        page = await mail_client.get(path_of(link))
        assert page.status_code == 200
        assert "Unsubscribe from these emails" in page.text and "Notify tests will be asked" in page.text
        assert '<form method="post"' in page.text
        for _ in range(2):  # a second click is the same request
            done = await mail_client.post(path_of(link), content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
            assert done.status_code == 200
            assert "You have unsubscribed" in done.text
        welsh = await mail_client.post(path_of(link) + "?lang=cy")
        assert "Rydych wedi dad-danysgrifio" in welsh.text

    made = await asyncio.to_thread(api, files_rig, "POST", "/v2/unsubscribe-requests/reports")
    assert made.status_code == 201, made.text
    report = made.json()["data"]
    assert report["count"] == 1
    [request] = report["unsubscribe_requests"]
    assert request["email_address"] == to
    assert request["notification_id"] == sent["id"]
    assert request["template_id"] == files_rig.templates["newsletter"]
    assert request["template_version"] == 1
    assert request["reference"] == "newsletter-42"
    assert request["unsubscribed_at"] == report["earliest_timestamp"] == report["latest_timestamp"]
    assert request["notification_created_at"].endswith("Z")

    nothing = await asyncio.to_thread(api, files_rig, "POST", "/v2/unsubscribe-requests/reports")
    assert (nothing.status_code, nothing.json()) == (200, {"data": None})
    listed = (await asyncio.to_thread(api, files_rig, "GET", "/v2/unsubscribe-requests/reports")).json()["data"]
    assert listed[0] == {k: v for k, v in report.items() if k != "unsubscribe_requests"}
    again = await asyncio.to_thread(api, files_rig, "GET", f"/v2/unsubscribe-requests/reports/{report['id']}")
    assert again.json() == {"data": report}


def test_reports_are_the_services_own_and_errors_use_the_platform_envelope(files_rig: FilesRig) -> None:
    missing = api(files_rig, "GET", f"/v2/unsubscribe-requests/reports/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NoResultFound" and missing.json()["request_id"]
    bad = api(files_rig, "GET", "/v2/unsubscribe-requests/reports/not-a-uuid")
    assert bad.status_code == 400
    assert (bad.json()["error"], bad.json()["message"]) == ("ValidationError", "report_id is not a valid UUID")
    anonymous = httpx.post(f"{files_rig.url}/v2/unsubscribe-requests/reports")
    assert anonymous.status_code == 401


def test_links_notify_did_not_make_are_not_found(files_rig: FilesRig) -> None:
    sent = newsletter(files_rig, unique_address("tam"))
    link = path_of(sent["content"]["one_click_unsubscribe_url"])
    _, _, ident, token = link.split("/")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other = str(uuid.uuid4())
    for path in (f"/unsubscribe/{ident}/{forged}", f"/unsubscribe/{other}/{token}", f"/unsubscribe/x/{token}"):
        answer = httpx.post(f"{files_rig.url}{path}", content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")


def test_a_url_from_the_service_is_used_instead_of_notifys_own(files_rig: FilesRig) -> None:
    own = "https://example.gov.uk/unsubscribe?id=7"
    sent = newsletter(files_rig, unique_address("own"), one_click_unsubscribe_url=own)
    assert sent["content"]["one_click_unsubscribe_url"] == own


def test_templates_without_the_link_get_none(files_rig: FilesRig) -> None:
    sent = client(files_rig.rig, "live").send_email_notification(
        unique_address("no"), files_rig.templates["file"], {"name": "Ada", "link_to_file": "none"}
    )
    assert sent["content"]["one_click_unsubscribe_url"] is None

"""The developer inbox through the gateway: a Notify key sees its own service's emails and texts, nobody else's."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from gaap.settings import Environment, PlatformSettings
from services.notify.inbox import service as inbox
from services.notify.settings import NotifySettings
from tests.notify.conftest import manage
from tests.notify.inbox.conftest import EMAIL_DOMAIN, InboxRig, Tenant

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def rig(inbox_rig: InboxRig) -> Iterator[InboxRig]:
    """The rig with its inbox on (development mode, both doubles configured), put back as found afterwards."""
    settings = inbox_rig.notify_app.state.settings
    saved = (settings.dev_maildir, settings.dev_sms_store, settings.platform)
    settings.dev_maildir, settings.dev_sms_store = str(inbox_rig.maildir), str(inbox_rig.sms_store)
    try:
        yield inbox_rig
    finally:
        settings.dev_maildir, settings.dev_sms_store, settings.platform = saved


def api(rig: InboxRig, tenant: Tenant, key: str = "live") -> httpx.Client:
    return manage(rig.url, tenant.keys[key])


def newest_first(sent: list[tuple[str, str]]) -> list[str]:
    return [nid for nid, _to in reversed(sent)]


def assert_platform_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "request_id"}
    assert body["error"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_emails_are_only_the_callers_services(rig: InboxRig) -> None:
    with api(rig, rig.ours) as ours, api(rig, rig.theirs, "team") as theirs:
        mine = ours.get("/v2/inbox/emails")
        other = theirs.get("/v2/inbox/emails")
    assert mine.status_code == 200, mine.text
    assert [e["id"] for e in mine.json()["emails"]] == newest_first(rig.ours.emails)
    # Neither the other service's email nor the sink's mail that no notification of ours explains.
    assert [e["id"] for e in other.json()["emails"]] == newest_first(rig.theirs.emails)
    assert mine.json()["links"] == {"current": f"{rig.url}/v2/inbox/emails"}


def test_email_fields(rig: InboxRig) -> None:
    nid, to = rig.ours.emails[-1]
    with api(rig, rig.ours) as ours:
        listed = ours.get("/v2/inbox/emails", params={"limit": 1}).json()["emails"]
    assert len(listed) == 1
    email = listed[0]
    assert set(email) == {"id", "message_id", "from", "to", "subject", "received_at", "text", "html", "headers"}
    assert email["id"] == nid
    assert email["message_id"] == f"{nid}@{EMAIL_DOMAIN}"
    assert email["from"] == f"Notify tests <notify-tests@{EMAIL_DOMAIN}>"
    assert email["to"] == to
    assert email["subject"] == f"Hello {to}"
    assert DATETIME.match(email["received_at"])
    assert email["text"] == f"Plain text for {to}\n"
    assert email["html"] == f"<p>HTML for <b>{to}</b></p>\n"
    assert email["headers"]["List-Unsubscribe"] == f"<https://example.gov.uk/unsubscribe/{nid}@{EMAIL_DOMAIN}>"
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_email_limit_pages_with_next_links(rig: InboxRig) -> None:
    expected = newest_first(rig.ours.emails)
    seen: list[str] = []
    with api(rig, rig.ours) as ours:
        response = ours.get("/v2/inbox/emails", params={"limit": 3})
        first = response.json()
        assert [e["id"] for e in first["emails"]] == expected[:3]
        assert first["links"]["current"] == f"{rig.url}/v2/inbox/emails?limit=3"
        assert first["links"]["next"] == f"{rig.url}/v2/inbox/emails?limit=3&older_than={expected[2]}"
        seen += [e["id"] for e in first["emails"]]
        second = ours.get(first["links"]["next"]).json()
        seen += [e["id"] for e in second["emails"]]
    assert seen == expected
    assert "next" not in second["links"]  # a short page is the last one


def test_pages_stay_whole_when_other_mail_fills_the_first_reads(rig: InboxRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads start tiny here, so the sink's newest mail (not ours) fills them and the inbox must read further."""
    monkeypatch.setattr(inbox, "_FIRST_BATCH", 1)
    for path, key, sent in (("emails", "emails", rig.ours.emails), ("texts", "texts", rig.ours.texts)):
        seen: list[str] = []
        url: str | None = f"{rig.url}/v2/inbox/{path}?limit=1"
        with api(rig, rig.ours) as ours:
            while url:
                page = ours.get(url).json()
                seen += [item["id"] for item in page[key]]
                url = page["links"].get("next")
        assert seen == newest_first(sent)


def test_emails_to_one_recipient(rig: InboxRig) -> None:
    with api(rig, rig.ours) as ours:
        ada = ours.get("/v2/inbox/emails", params={"to": "ADA@example.com"}).json()["emails"]
        nobody = ours.get("/v2/inbox/emails", params={"to": "nobody@example.com"}).json()
    assert [e["id"] for e in ada] == [nid for nid, to in reversed(rig.ours.emails) if to == "ada@example.com"]
    assert nobody == {"emails": [], "links": {"current": f"{rig.url}/v2/inbox/emails?to=nobody%40example.com"}}


def test_one_email_by_notification_id_or_message_id(rig: InboxRig) -> None:
    nid, to = rig.ours.emails[1]
    with api(rig, rig.ours) as ours:
        by_id = ours.get(f"/v2/inbox/emails/{nid}")
        by_message_id = ours.get(f"/v2/inbox/emails/{quote(f'<{nid}@{EMAIL_DOMAIN}>', safe='')}")
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == by_message_id.json()
    assert by_id.json()["id"] == nid
    assert by_id.json()["text"] == f"Plain text for {to}\n"
    assert by_id.json()["html"] == f"<p>HTML for <b>{to}</b></p>\n"


def test_another_services_email_is_not_found(rig: InboxRig) -> None:
    theirs = rig.theirs.emails[0][0]
    with api(rig, rig.ours) as ours:
        for path in (theirs, str(uuid.uuid4()), "not-an-id", f"{rig.ours.emails[0][0]}@elsewhere.example"):
            body = assert_platform_error(ours.get(f"/v2/inbox/emails/{path}"), 404, "NotFound")
            assert body["message"] == "No email for this notification of your service is in the developer inbox"


def test_texts_are_only_the_callers_services(rig: InboxRig) -> None:
    with api(rig, rig.ours) as ours, api(rig, rig.theirs) as theirs:
        mine = ours.get("/v2/inbox/texts").json()
        other = theirs.get("/v2/inbox/texts").json()
        limited = ours.get("/v2/inbox/texts", params={"limit": 1}).json()
        # Any spelling of the number finds both texts sent to it, and not the other service's.
        to = ours.get("/v2/inbox/texts", params={"to": "447700900123"}).json()
    assert [t["id"] for t in mine["texts"]] == newest_first(rig.ours.texts)
    assert [t["id"] for t in other["texts"]] == newest_first(rig.theirs.texts)
    assert [t["id"] for t in limited["texts"]] == newest_first(rig.ours.texts)[:1]
    assert limited["links"]["next"].endswith(f"older_than={rig.ours.texts[-1][0]}")
    assert [t["id"] for t in to["texts"]] == [rig.ours.texts[2][0], rig.ours.texts[0][0]]
    text = mine["texts"][0]
    assert text == {
        "id": rig.ours.texts[-1][0],
        "to": "+447700900123",
        "sender": "GOVUK",
        "content": "Your code is 123456 (+447700900123)",
        "provider": "mmg",
        "received_at": text["received_at"],
        "status": "accepted",
    }
    assert DATETIME.match(text["received_at"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit must be a whole number from 1 to 250"),
        ({"limit": "251"}, "limit must be a whole number from 1 to 250"),
        ({"limit": "ten"}, "limit must be a whole number from 1 to 250"),
        ({"older_than": "yesterday"}, "older_than is not a valid UUID"),
    ],
)
def test_bad_queries_are_validation_errors(rig: InboxRig, query: dict[str, str], message: str) -> None:
    with api(rig, rig.ours) as ours:
        for path in ("/v2/inbox/emails", "/v2/inbox/texts"):
            body = assert_platform_error(ours.get(path, params=query), 400, "ValidationError")
            assert body["message"] == message


def test_a_key_is_needed(rig: InboxRig) -> None:
    response = httpx.get(f"{rig.url}/v2/inbox/emails")
    assert response.status_code == 401
    assert "emails" not in response.text


def test_no_inbox_without_the_doubles(rig: InboxRig) -> None:
    """Production's behaviour: nothing configured, so no inbox, said in the platform envelope."""
    settings = rig.notify_app.state.settings
    settings.dev_maildir = settings.dev_sms_store = ""
    with api(rig, rig.ours) as ours:
        for path in ("/v2/inbox/emails", f"/v2/inbox/emails/{rig.ours.emails[0][0]}", "/v2/inbox/texts"):
            body = assert_platform_error(ours.get(path), 404, "NoDeveloperInbox")
            assert body["message"].startswith("There is no developer inbox here")


def test_only_the_configured_double_is_shown(rig: InboxRig) -> None:
    rig.notify_app.state.settings.dev_sms_store = ""
    with api(rig, rig.ours) as ours:
        assert ours.get("/v2/inbox/emails").status_code == 200
        assert_platform_error(ours.get("/v2/inbox/texts"), 404, "NoDeveloperInbox")


def test_refused_outside_development_even_when_configured(rig: InboxRig) -> None:
    settings = rig.notify_app.state.settings
    settings.platform = PlatformSettings(env=Environment.production, public_base_url="https://gaap.example.gov.uk")
    with api(rig, rig.ours) as ours:
        for path in ("/v2/inbox/emails", f"/v2/inbox/emails/{rig.ours.emails[0][0]}", "/v2/inbox/texts"):
            assert_platform_error(ours.get(path), 404, "NoDeveloperInbox")


@pytest.mark.parametrize("env", [env for env in Environment if env != Environment.development])
def test_settings_outside_development_never_give_an_inbox(env: Environment, tmp_path: Path) -> None:
    settings = NotifySettings(
        platform=PlatformSettings(env=env, public_base_url="https://gaap.example.gov.uk"),
        dev_maildir=str(tmp_path / "mail"),
        dev_sms_store=str(tmp_path / "sms"),
    )
    with pytest.raises(inbox.NoDeveloperInbox):
        inbox.maildir(settings)
    with pytest.raises(inbox.NoDeveloperInbox):
        inbox.sms_store(settings)


def test_message_ids_notify_did_not_send_name_no_notification() -> None:
    nid = uuid.uuid4()
    assert inbox.notification_id_of(f"<{nid}@{EMAIL_DOMAIN.upper()}>", EMAIL_DOMAIN) == nid
    assert inbox.notification_id_of(f"<{nid}@elsewhere.example>", EMAIL_DOMAIN) is None
    assert inbox.notification_id_of(f"<not-a-uuid@{EMAIL_DOMAIN}>", EMAIL_DOMAIN) is None
    assert inbox.notification_id_of(None, EMAIL_DOMAIN) is None

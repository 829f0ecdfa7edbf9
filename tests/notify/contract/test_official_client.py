"""The official `notifications-python-client`, unchanged, against notify through the gateway (notify spec §1)."""

from __future__ import annotations

import re
import uuid

import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from tests.notify.conftest import NotifyRig

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PERSONALISATION = {"name": "Ada", "date": "1 May", "urgent": "yes", "code": "123456"}


def client(rig: NotifyRig, key: str = "live") -> NotificationsAPIClient:
    return NotificationsAPIClient(rig.keys[key], base_url=rig.url)


def test_send_email_and_read_it_back(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    sent = api.send_email_notification(
        "someone@example.com", notify_rig.templates["email"], personalisation=PERSONALISATION, reference="ref-1"
    )
    assert set(sent) == {"id", "reference", "content", "uri", "template", "scheduled_for", "sanitised_content"}
    assert sent["reference"] == "ref-1"
    assert sent["content"]["subject"] == "Your appointment on 1 May"
    assert sent["content"]["body"].startswith("# Hello Ada")
    assert "Please bring your letter." in sent["content"]["body"]
    assert sent["content"]["from_email"].endswith("@notifications.gaap.test")
    assert sent["content"]["one_click_unsubscribe_url"] is None
    assert sent["uri"] == f"{notify_rig.url}/v2/notifications/{sent['id']}"
    assert sent["template"] == {
        "id": notify_rig.templates["email"],
        "version": 1,
        "uri": f"{notify_rig.url}/services/{notify_rig.service_id}/templates/{notify_rig.templates['email']}",
    }
    got = api.get_notification_by_id(sent["id"])
    assert got["type"] == "email"
    assert got["status"] == "created"
    assert got["email_address"] == "someone@example.com"
    assert got["phone_number"] is None
    assert DATETIME.match(got["created_at"])
    assert got["completed_at"] is None
    assert got["template"]["uri"] == f"{notify_rig.url}/v2/template/{notify_rig.templates['email']}/version/1"
    assert got["is_cost_data_ready"] is True and got["cost_in_pounds"] == 0.0 and got["cost_details"] == {}
    for field in ("line_1", "line_6", "postcode", "scheduled_for", "postage", "created_by_name", "sent_at"):
        assert got[field] is None


def test_send_sms(notify_rig: NotifyRig) -> None:
    sent = client(notify_rig).send_sms_notification(
        "07700 900123", notify_rig.templates["sms"], personalisation=PERSONALISATION
    )
    assert sent["content"] == {"body": "Hello Ada, your code is 123456", "from_number": "GOVUK"}
    got = client(notify_rig).get_notification_by_id(sent["id"])
    assert got["phone_number"] == "07700900123"
    assert got["cost_details"]["billable_sms_fragments"] == 1


def test_send_letter(notify_rig: NotifyRig) -> None:
    address = {"address_line_1": "A. Citizen", "address_line_2": "1 High Street", "address_line_3": "sw1a1aa"}
    sent = client(notify_rig).send_letter_notification(
        notify_rig.templates["letter"], personalisation={"name": "Ada", **address}
    )
    assert sent["content"] == {"body": "Dear Ada,\n\nYour licence is enclosed.", "subject": "Your licence"}
    got = client(notify_rig).get_notification_by_id(sent["id"])
    assert got["status"] == "accepted"
    assert got["line_1"] == "A. Citizen"
    assert got["postcode"] == "SW1A 1AA"
    assert got["postage"] == "second"
    assert DATETIME.match(got["estimated_delivery"])


def test_lists_only_the_callers_key_type_and_pages(notify_rig: NotifyRig) -> None:
    api = client(notify_rig, "test")
    ids = [
        api.send_sms_notification(
            "07700900987", notify_rig.templates["sms"], personalisation=PERSONALISATION, reference="paging"
        )["id"]
        for _ in range(260)
    ]
    page = api.get_all_notifications(reference="paging")
    assert len(page["notifications"]) == 250
    assert page["links"]["current"] == f"{notify_rig.url}/v2/notifications?reference=paging"
    assert page["links"]["next"].endswith(f"older_than={page['notifications'][-1]['id']}")
    seen = [n["id"] for n in api.get_all_notifications_iterator(reference="paging")]
    assert seen == list(reversed(ids))
    # The live key sees none of the test key's notifications.
    assert client(notify_rig).get_all_notifications(reference="paging")["notifications"] == []
    empty = api.get_all_notifications(reference="nothing-has-this")
    assert empty == {
        "notifications": [],
        "links": {"current": f"{notify_rig.url}/v2/notifications?reference=nothing-has-this"},
    }


def test_templates(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    template = api.get_template(notify_rig.templates["email"])
    assert template["type"] == "email"
    assert template["version"] == 1
    assert template["personalisation"] == {
        "date": {"required": True},
        "name": {"required": True},
        "urgent": {"required": True},
    }
    assert api.get_template_version(notify_rig.templates["email"], 1)["id"] == notify_rig.templates["email"]
    names = [t["name"] for t in api.get_all_templates()["templates"]]
    assert names == sorted(names)
    assert {t["type"] for t in api.get_all_templates(template_type="sms")["templates"]} == {"sms"}
    preview = api.post_template_preview(notify_rig.templates["email"], personalisation=PERSONALISATION)
    assert preview["subject"] == "Your appointment on 1 May"
    assert "<h2" in preview["html"]
    versions = api.get_all_template_versions(notify_rig.templates["sms"])
    assert [v["version"] for v in versions["data"]] == [1]


def test_errors_come_in_notifys_envelope(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    cases = [
        (
            lambda: api.send_email_notification("someone@example.com", str(uuid.uuid4())),
            400,
            {"error": "BadRequestError", "message": "Template not found"},
        ),
        (
            lambda: api.send_email_notification("someone@example.com", notify_rig.templates["sms"]),
            400,
            {"error": "BadRequestError", "message": "sms template is not suitable for email notification"},
        ),
        (
            lambda: api.send_email_notification("someone@example.com", notify_rig.templates["email"]),
            400,
            {"error": "BadRequestError", "message": "Missing personalisation: date, name, urgent"},
        ),
        (
            lambda: api.send_email_notification("not an email", notify_rig.templates["email"]),
            400,
            {"error": "ValidationError", "message": "email_address Not a valid email address"},
        ),
        (
            lambda: api.send_sms_notification("07700", notify_rig.templates["sms"]),
            400,
            {"error": "ValidationError", "message": "phone_number Not enough digits"},
        ),
        (
            lambda: api.get_notification_by_id("nope"),
            400,
            {"error": "ValidationError", "message": "notification_id is not a valid UUID"},
        ),
        (
            lambda: api.get_notification_by_id(str(uuid.uuid4())),
            404,
            {"error": "NoResultFound", "message": "No result found"},
        ),
        (lambda: api.get_template("nope"), 400, {"error": "ValidationError", "message": "id is not a valid UUID"}),
    ]
    for call, status, item in cases:
        with pytest.raises(HTTPError) as raised:
            call()
        assert raised.value.status_code == status
        assert raised.value.message == [item]


def test_team_key_and_letters(notify_rig: NotifyRig) -> None:
    team = client(notify_rig, "team")
    sent = team.send_email_notification(
        "Team@Example.gov.uk", notify_rig.templates["email"], personalisation=PERSONALISATION
    )
    assert sent["id"]
    with pytest.raises(HTTPError) as raised:
        team.send_email_notification(
            "stranger@example.com", notify_rig.templates["email"], personalisation=PERSONALISATION
        )
    assert raised.value.message == [
        {"error": "BadRequestError", "message": "Can’t send to this recipient using a team-only API key"}
    ]
    with pytest.raises(HTTPError) as raised:
        team.send_letter_notification(notify_rig.templates["letter"], personalisation={"name": "x"})
    assert raised.value.status_code == 403
    assert raised.value.message == [{"error": "BadRequestError", "message": "Cannot send letters with a team api key"}]


def test_smoke_test_recipients_are_not_stored(notify_rig: NotifyRig) -> None:
    api = client(notify_rig)
    sent = api.send_sms_notification("+447700900000", notify_rig.templates["sms"], personalisation=PERSONALISATION)
    with pytest.raises(HTTPError) as raised:
        api.get_notification_by_id(sent["id"])
    assert raised.value.status_code == 404

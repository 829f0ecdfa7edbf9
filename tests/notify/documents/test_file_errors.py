"""Every refusal of a file sent by email (notify spec §12, §4.3, §17), with GOV.UK Notify's exact texts, through the
gateway; and what is not a file (an object without `file`) is sent as ordinary personalisation."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from gateway.demo_templates import NotifyKeyAuth
from services.notify.documents.filetypes import SUPPORTED
from tests.notify.documents.rig import CONTACT, EICAR, FilesRig, set_contact

CSV = base64.b64encode(b"a,b\n1,2\n").decode()
TYPES = "'.csv', '.doc', '.docx', '.jpeg', '.jpg', '.json', '.odt', '.pdf', '.png', '.rtf', '.txt', '.xlsx'"
TO = "team@example.gov.uk"


def post(rig: FilesRig, path: str, body: dict[str, Any], key: str = "test") -> httpx.Response:
    return httpx.post(f"{rig.url}{path}", json=body, auth=NotifyKeyAuth(rig.rig.keys[key]), timeout=30)


def send(rig: FilesRig, file: Any, key: str = "test") -> httpx.Response:
    body = {
        "email_address": TO,
        "template_id": rig.templates["file"],
        "personalisation": {"name": "Ada", "link_to_file": file},
    }
    return post(rig, "/v2/notifications/email", body, key)


def refused(answer: httpx.Response) -> list[tuple[str, str]]:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["status_code"] == 400
    return [(item["error"], item["message"]) for item in body["errors"]]


def test_the_supported_list_is_gov_uks() -> None:
    assert SUPPORTED == TYPES


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"retention_period": "9999 weeks"},
            "personalisation Unsupported value for retention_period: 9999 weeks. Supported periods are from 1 to 78 "
            "weeks.",
        ),
        (
            {"retention_period": "1 month"},
            "personalisation Unsupported value for retention_period: 1 month. Supported periods are from 1 to 78 "
            "weeks.",
        ),
        (
            {"retention_period": "0 weeks"},
            "personalisation Unsupported value for retention_period: 0 weeks. Supported periods are from 1 to 78 "
            "weeks.",
        ),
        (
            {"retention_period": False},
            "personalisation Unsupported value for retention_period: False. Supported periods are from 1 to 78 weeks.",
        ),
        (
            {"confirm_email_before_download": "potato"},
            "personalisation Unsupported value for confirm_email_before_download: potato. Use a boolean true or "
            "false value.",
        ),
        (
            {"confirm_email_before_download": 1},
            "personalisation Unsupported value for confirm_email_before_download: 1. Use a boolean true or false "
            "value.",
        ),
        ({"is_csv": "bad"}, "personalisation Unsupported value for is_csv: bad. Use a boolean true or false value."),
        ({"filename": "file"}, "personalisation `filename` must end with a file extension. For example, filename.csv"),
        ({"filename": 7}, "personalisation `filename` must end with a file extension. For example, filename.csv"),
        ({"is_csv": True, "filename": "file.csv"}, "Do not set a value for `is_csv` if `filename` is set."),
        ({"other": "attribute"}, "personalisation Additional properties are not allowed (other was unexpected)"),
    ],
)
def test_file_options_are_validation_errors(files_rig: FilesRig, options: dict[str, Any], message: str) -> None:
    assert refused(send(files_rig, {"file": CSV, **options})) == [("ValidationError", message)]


def test_a_file_must_be_a_string(files_rig: FilesRig) -> None:
    assert refused(send(files_rig, {"file": False})) == [
        ("ValidationError", "personalisation False is not of type string")
    ]


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ({"file": "!!not base64!!"}, "File is not base64 encoded"),
        (
            {"file": base64.b64encode(b"x" * (2 * 1024 * 1024 + 1)).decode()},
            "File is larger than 2MB",
        ),
        ({"file": CSV, "filename": "a" * 97 + ".csv"}, "`filename` cannot be longer than 100 characters"),
        ({"file": CSV, "filename": "setup.exe"}, f"Unsupported file type '.exe'. Supported types are: {TYPES}"),
        (
            {"file": base64.b64encode(b"\x00\x01\x02binary\xff").decode()},
            f"Unsupported file type 'application/octet-stream'. Supported types are: {TYPES}",
        ),
        (
            {"file": base64.b64encode(b"PK\x03\x04 not really a zip").decode()},
            f"Unsupported file type 'application/octet-stream'. Supported types are: {TYPES}",
        ),
        (
            {"file": base64.b64encode(b"note\n" + EICAR + b"\n").decode(), "filename": "note.txt"},
            "File did not pass the virus scan",
        ),
    ],
)
def test_file_checks_are_bad_requests(files_rig: FilesRig, file: dict[str, Any], message: str) -> None:
    assert refused(send(files_rig, file)) == [("BadRequestError", message)]


def test_exactly_2_mib_is_accepted(files_rig: FilesRig) -> None:
    data = b"a,b\n" + b"1" * (2 * 1024 * 1024 - 4)
    answer = send(files_rig, {"file": base64.b64encode(data).decode(), "filename": "big.csv"})
    assert answer.status_code == 201, answer.text


def test_only_emails_carry_files(files_rig: FilesRig) -> None:
    body = {
        "phone_number": "07700900456",
        "template_id": files_rig.templates["sms"],
        "personalisation": {"name": {"file": CSV}},
    }
    assert refused(post(files_rig, "/v2/notifications/sms", body)) == [
        ("BadRequestError", "Can only send a file by email")
    ]


def test_an_object_without_file_is_ordinary_personalisation(files_rig: FilesRig) -> None:
    answer = send(files_rig, {"potato": CSV, "is_csv": "cucumber"})
    assert answer.status_code == 201, answer.text
    assert "potato" in answer.json()["content"]["body"]


def test_a_service_without_contact_details_cannot_send_files(files_rig: FilesRig) -> None:
    set_contact(files_rig.rig, None)
    try:
        admin = files_rig.app.state.settings.console_url
        sid = files_rig.rig.service_id
        assert refused(send(files_rig, {"file": CSV})) == [
            (
                "BadRequestError",
                "Send files by email has not been set up - add contact details for your service at "
                f"{admin}/services/{sid}/service-settings/send-files-by-email",
            )
        ]
    finally:
        set_contact(files_rig.rig, CONTACT)


def test_welsh_is_complete_for_notifys_pages() -> None:
    from gaap.pages import missing_translations
    from services.notify.documents.pages import LOCALE_DIRS, TEMPLATE_DIRS

    assert missing_translations(TEMPLATE_DIRS, LOCALE_DIRS, "cy") == []

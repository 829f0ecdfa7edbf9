"""A file in a send-email request (notify spec §12): which personalisation values are files, and the rules for the
keys beside `file`, with GOV.UK Notify's exact messages.

`notifications-python-client`'s `prepare_upload` always sends all four keys, nulls included:
`{"file": <base64>, "filename": ..., "confirm_email_before_download": ..., "retention_period": ...}`; the legacy
`is_csv` may come too. The option checks are JSON Schema formats (`schemas.SEND_A_FILE`, registered in
`validation`), so their messages read `personalisation <text>` as GOV.UK's do. The compiled fast validator runs
formats on strings only, so `check_options` applies the same checks to every value once more after the schema
stage: one rule, one message, whatever the value's type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.notify.errors import ValidationError
from services.notify.validation import FormatRejected

#: 26 weeks unless the request says otherwise (GOV.UK's default).
DEFAULT_RETENTION_WEEKS = 26
MAX_RETENTION_WEEKS = 78
FILE_STAND_IN = "https://file"
_WEEKS = re.compile(r"^(\d+) weeks?$")


def is_file(value: object) -> bool:
    """A personalisation value is a file when it is an object with a `file` key (any other object is text)."""
    return isinstance(value, dict) and "file" in value


def has_files(body: object) -> bool:
    """Whether a (not yet validated) send body carries a file in its personalisation."""
    personalisation = body.get("personalisation") if isinstance(body, dict) else None
    return isinstance(personalisation, dict) and any(is_file(v) for v in personalisation.values())


def stand_ins(personalisation: dict[str, Any]) -> dict[str, Any]:
    """The personalisation to check a message with before its files are stored: each file reads as a short
    stand-in for the link it will become, rather than its base64 content. Unchanged (the same dict) without files."""
    if not any(is_file(v) for v in personalisation.values()):
        return personalisation
    return {key: FILE_STAND_IN if is_file(value) else value for key, value in personalisation.items()}


def retention_weeks(value: object) -> int | None:
    """`"<n> week"` or `"<n> weeks"` (case and outer spaces ignored), n from 1 to 78; else None."""
    if not isinstance(value, str):
        return None
    match = _WEEKS.match(value.strip().lower())
    if match is None or not 1 <= int(match.group(1)) <= MAX_RETENTION_WEEKS:
        return None
    return int(match.group(1))


def check_retention_period(instance: object) -> bool:
    if instance is None or retention_weeks(instance) is not None:
        return True
    raise FormatRejected(
        f"Unsupported value for retention_period: {instance}. Supported periods are from 1 to 78 weeks."
    )


def check_filename(instance: object) -> bool:
    if instance is None or (isinstance(instance, str) and "." in instance):
        return True
    raise FormatRejected("`filename` must end with a file extension. For example, filename.csv")


def _boolean(name: str) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        if instance is None or isinstance(instance, bool):
            return True
        raise FormatRejected(f"Unsupported value for {name}: {instance}. Use a boolean true or false value.")

    return check


check_is_csv = _boolean("is_csv")
check_confirm_email = _boolean("confirm_email_before_download")

#: Format name -> check, for `validation`'s format checker (the names GOV.UK uses).
FORMATS: dict[str, Callable[[object], bool]] = {
    "send_a_file_retention_period": check_retention_period,
    "send_a_file_filename": check_filename,
    "send_a_file_is_csv": check_is_csv,
    "send_a_file_confirm_email_before_download": check_confirm_email,
}
_CHECKS = {
    "retention_period": check_retention_period,
    "filename": check_filename,
    "is_csv": check_is_csv,
    "confirm_email_before_download": check_confirm_email,
}


def check_options(personalisation: object) -> None:
    """After the schema stage: the option rules for values the compiled validator does not look at (non-strings),
    and GOV.UK's one rule across two keys. Messages as the schema stage gives them."""
    if not isinstance(personalisation, Mapping):
        return
    problems: list[str] = []
    for value in personalisation.values():
        if not is_file(value):
            continue
        for key, check in _CHECKS.items():
            try:
                check(value.get(key))
            except FormatRejected as exc:
                problems.append(f"personalisation {str(exc).replace(chr(39), '')}")
        if value.get("filename") is not None and value.get("is_csv") is not None:
            problems.append("Do not set a value for `is_csv` if `filename` is set.")
    if problems:
        raise ValidationError(problems)


@dataclass(frozen=True)
class FileRequest:
    """One file of a send, its options resolved (defaults applied). `content` is still base64 text."""

    placeholder: str
    content: str
    filename: str | None
    is_csv: bool
    confirm_email: bool
    retention_weeks: int

    @classmethod
    def parse(cls, placeholder: str, value: Mapping[str, Any]) -> FileRequest:
        confirm = value.get("confirm_email_before_download")
        return cls(
            placeholder=placeholder,
            content=value["file"],
            filename=value.get("filename"),
            is_csv=bool(value.get("is_csv")),
            confirm_email=True if confirm is None else bool(confirm),
            retention_weeks=retention_weeks(value.get("retention_period")) or DEFAULT_RETENTION_WEEKS,
        )


def file_requests(personalisation: Mapping[str, Any]) -> list[FileRequest]:
    return [FileRequest.parse(key, value) for key, value in personalisation.items() if is_file(value)]

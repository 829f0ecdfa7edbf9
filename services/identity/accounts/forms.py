"""What several account journeys ask the same way: a code emailed to an address (sent, entered, counted), and a new
password with its confirmation (spec §9.2, §9.3, §9.4). Each journey keeps its own pages, words and next step."""

from __future__ import annotations

from enum import Enum
from typing import Any

from services.identity.accounts.codes import CodeCheck
from services.identity.accounts.passwords import BreachedPasswords, normalise, problem_with
from services.identity.deps import Provider
from services.identity.i18n import N_
from services.identity.pages import field_error

WRONG_CODE = N_("The code you entered is not correct or has expired")
EMAILED_CODE_FIELD = {
    "name": "code",
    "label": N_("Enter the 6-digit code"),
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "classes": "govuk-input--width-5",
}
NEW_PASSWORD_FIELDS = [
    {"name": "password", "label": N_("New password"), "type": "password", "autocomplete": "new-password"},
    {"name": "confirm", "label": N_("Confirm your new password"), "type": "password", "autocomplete": "new-password"},
]


class Entered(Enum):
    ok = "ok"
    wrong = "wrong"
    locked = "locked"


async def email_code(op: Provider, purpose: str, email: str) -> None:
    """Email a new code for `purpose` (voiding the last one); raises `NotifyUnavailable` when notify refuses it."""
    code = await op.codes.issue(purpose, email)
    await op.notify.send_email_code(
        email, {"code": code, "expiry_minutes": str(op.settings.code_ttl_seconds // 60)}, purpose
    )


async def enter_emailed_code(op: Provider, purpose: str, email: str, code: str) -> Entered:
    """Check a code emailed to `email`, counting a wrong one towards the lock (§9.4); a right one clears the count."""
    if await op.counters.exceeded("email-code", email, op.code_failures):
        return Entered.locked
    if await op.codes.check(purpose, email, code) is not CodeCheck.ok:
        failures = await op.counters.hit("email-code", email, op.code_failures)
        return Entered.locked if failures >= op.code_failures.max_count else Entered.wrong
    await op.counters.clear("email-code", email)
    return Entered.ok


def check_email_form(paragraphs: list[str], resend: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The page that asks for an emailed code; `resend` is the page that sends another."""
    return {
        "heading": N_("Check your email"),
        "paragraphs": paragraphs,
        "fields": [EMAILED_CODE_FIELD],
        "links": [{"href": resend, "text": N_("Send the code again")}],
        "back_url": resend,
        "errors": errors or [],
    }


def new_password_error(password: str, confirm: str, email: str, breached: BreachedPasswords) -> dict[str, str] | None:
    """The error to show against a new password and its confirmation (§9.3), or None when both are right."""
    problem = problem_with(password, email, breached)
    if problem is not None:
        return field_error("password", problem)
    if normalise(password) != normalise(confirm):
        return field_error("confirm", N_("The passwords you entered do not match"))
    return None

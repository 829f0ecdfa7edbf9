"""Security codes sent by text message (spec §9.2, §9.4), with their limits.

- Sends: 5 per account in 15 minutes (counted with the account's emailed codes, under its email address) and 10 per
  phone number in 24 hours, whoever asks. A send notify refuses is not counted; the page says the code could not
  be sent.
- Entry: 5 wrong tries void a code (`OneTimeCodes`), 6 wrong codes per account in 15 minutes block code entry.
The code goes into the text and nowhere else: it is never logged, and only its keyed hash is kept.
"""

from __future__ import annotations

from enum import StrEnum

from services.identity.accounts.codes import CodeCheck, Limit
from services.identity.accounts.notify import NotifyUnavailable
from services.identity.deps import Provider

PHONE_SENDS = "phone-send"
SENDS = "send"


class Sent(StrEnum):
    sent = "sent"
    too_many = "too_many"
    unavailable = "unavailable"


class Entered(StrEnum):
    ok = "ok"
    wrong = "wrong"
    #: No code to check: it expired, or a new one replaced it, or wrong tries voided it.
    missing = "missing"
    locked = "locked"


def phone_sends(op: Provider) -> Limit:
    return Limit(op.settings.phone_sends_per_window, op.settings.phone_send_window_seconds)


async def text_code(op: Provider, *, purpose: str, subject: str, account: str, phone: str) -> Sent:
    """Text a new code for (`purpose`, `subject`) to `phone`, voiding the last one; `account` is the email address
    the account's send limit counts against."""
    limit = phone_sends(op)
    if await op.counters.exceeded(SENDS, account, op.code_sends) or await op.counters.exceeded(
        PHONE_SENDS, phone, limit
    ):
        return Sent.too_many
    code = await op.codes.issue(purpose, subject)
    personalisation = {"code": code, "expiry_minutes": str(op.settings.code_ttl_seconds // 60)}
    try:
        await op.notify.send_sms_code(phone, personalisation, purpose)
    except NotifyUnavailable:
        return Sent.unavailable
    await op.counters.hit(SENDS, account, op.code_sends)
    await op.counters.hit(PHONE_SENDS, phone, limit)
    return Sent.sent


async def enter_code(op: Provider, *, purpose: str, subject: str, code: str, counted_as: tuple[str, str]) -> Entered:
    """Check a texted (or emailed) code; `counted_as` is the (kind, subject) of the account's wrong-code counter."""
    kind, who = counted_as
    if await op.counters.exceeded(kind, who, op.code_failures):
        return Entered.locked
    outcome = await op.codes.check(purpose, subject, code)
    if outcome is CodeCheck.ok:
        await op.counters.clear(kind, who)
        return Entered.ok
    if await op.counters.hit(kind, who, op.code_failures) >= op.code_failures.max_count:
        return Entered.locked
    return Entered.wrong if outcome is CodeCheck.wrong else Entered.missing

"""What every channel's sender shares with `deliver`: the hand-over report, the sender's shape, and the one error a
sender raises when its provider did not take the message (notify spec §16.3).

Kept apart from `tasks` so a channel's adapter (`email`, `sms`, later letters) can be written against these names
while `tasks` registers the adapters in `PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gaap.db.base import utcnow
from services.notify.notifications.models import Notification

Ctx = dict[str, Any]
#: The ctx key of the clock delivery reads (`utcnow` unless a test puts another there, to run 48 retries 300 s apart
#: or a 72-hour timeout without waiting for them).
CLOCK = "clock"


def clock(ctx: Ctx) -> datetime:
    now: Callable[[], datetime] = ctx.get(CLOCK, utcnow)
    return now()


@dataclass(frozen=True)
class HandedOver:
    """What a sender reports once its channel has accepted the message; `deliver` records it on the row.

    `status` is `sending`, or `sent` where no receipt will follow (international SMS). `receipt_due` is set by
    the simulator only: real providers send their receipts to notify's webhook routes instead. `billable_units`
    replaces the count the API stored when the sender measured what it actually sent (a text's fragments, prefix
    included).
    """

    sent_by: str
    status: str = "sending"
    reference: str | None = None
    receipt_due: datetime | None = None
    billable_units: int | None = None


#: Hands one claimed notification to its channel. It runs with no transaction open and must carry the
#: notification's id as its reference, so a provider can drop the copy a lease expiry might cause.
Sender = Callable[[Ctx, Notification], Awaitable[HandedOver]]


class ProviderError(Exception):
    """The provider did not take the message.

    `retryable` says whether trying again can help: a timeout, a dropped connection or a `4xx` answer can (§16.3:
    retried, up to 48 times); a permanent refusal of this message (an SMTP `5xx` to its sender, recipient or
    content) cannot, and the notification becomes `technical-failure` at once.

    `unsent` says the provider certainly does not have the message: it answered with a refusal, or was never
    reached. Without it, a timeout or a dropped connection may have left the message with the provider, and a
    channel that chooses among several providers (SMS) must try the same one again, whose de-duplication on the
    notification id is what keeps the text from being sent twice. `deliver` clears the row's `sent_by` (where the
    SMS channel notes the provider it is trying) only when `unsent` is set.
    """

    def __init__(self, message: str, *, retryable: bool = True, unsent: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unsent = unsent

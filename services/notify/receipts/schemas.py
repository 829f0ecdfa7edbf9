"""The email receipt a provider posts, and notify's answer.

A provider names the message by the `Message-ID` notify gave it (`<notification_id@NOTIFY_EMAIL_DOMAIN>`, angle
brackets optional), so no lookup table is needed: the id is in the reference. `status` is the provider's outcome in
the words of §16.5.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: §16.5: delivery → `delivered`; permanent bounce → `permanent-failure`; transient bounce → `temporary-failure`.
EMAIL_OUTCOMES: dict[str, str] = {
    "delivered": "delivered",
    "permanent-bounce": "permanent-failure",
    "transient-bounce": "temporary-failure",
}


class EmailReceipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=3, max_length=998, description="The Message-ID notify sent the email with")
    status: Literal["delivered", "permanent-bounce", "transient-bounce"]
    timestamp: datetime | None = Field(default=None, description="When the provider saw the outcome")


class ReceiptAnswer(BaseModel):
    notification_id: uuid.UUID | None
    #: `updated`: the receipt set the status; `unchanged`: the row was already final (a repeated or late receipt);
    #: `ignored`: not a notification of ours sent by this provider (unknown, another provider's, past retention).
    result: Literal["updated", "unchanged", "ignored"]
    status: str | None

"""The receipts providers post, and notify's answer.

A provider names the message by the reference notify gave it, so no lookup table is needed: the id is in the
reference. The email provider uses the `Message-ID` (`<notification_id@NOTIFY_EMAIL_DOMAIN>`, angle brackets
optional); an SMS provider the `reference` of the send call, the notification id itself. `status` is the
provider's outcome in the words of §16.5.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The most receipts one request may carry (a JSON array of them).
MAX_BATCH = 1000

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


EmailReceipts = Annotated[list[EmailReceipt], Field(min_length=1, max_length=MAX_BATCH)]


#: §16.5, the SMS adapters' codes (`mmg` and `firetext` speak the development provider's API, whose codes are
#: these words already). `pending` is interim; a decline after it becomes `temporary-failure` (`service`).
SMS_OUTCOMES: dict[str, str] = {
    "delivered": "delivered",
    "pending": "pending",
    "temporary-failure": "temporary-failure",
    "permanent-failure": "permanent-failure",
}


class SmsReceipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reference: str = Field(min_length=1, max_length=255, description="The reference notify sent the text with")
    id: str | None = Field(default=None, max_length=255, description="The provider's own message id")
    status: Literal["delivered", "pending", "temporary-failure", "permanent-failure"]
    timestamp: datetime | None = Field(default=None, description="When the provider saw the outcome")


SmsReceipts = Annotated[list[SmsReceipt], Field(min_length=1, max_length=MAX_BATCH)]


#: §16.5, the print provider's reports: print confirmation → `delivered`, rejection → `technical-failure`, a letter
#: Royal Mail returned → `returned-letter` (and the service's returned-letter callback).
LETTER_OUTCOMES: dict[str, str] = {
    "printed": "delivered",
    "rejected": "technical-failure",
    "returned": "returned-letter",
}


class LetterReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    reference: str = Field(min_length=1, max_length=255, description="The letter's reference: its notification id")
    status: Literal["printed", "rejected", "returned"]
    batch_id: str | None = Field(default=None, max_length=255, description="The batch the letter came in")
    reason: str | None = Field(default=None, max_length=1000, description="Why it was rejected or returned")
    timestamp: datetime | None = Field(default=None, description="When the provider saw the outcome")


class ReceiptAnswer(BaseModel):
    notification_id: uuid.UUID | None
    #: `updated`: the receipt set the status; `unchanged`: the row was already final (a repeated or late receipt);
    #: `ignored`: not a notification of ours sent by this provider (unknown, another provider's, past retention);
    #: `retry` (in a batch only; alone it is a 409): not recorded as handed over yet, post this receipt again later.
    result: Literal["updated", "unchanged", "ignored", "retry"]
    status: str | None

"""The shapes of the answers, as typed dicts: the JSON the APIs return, unchanged (so GOV.UK's documentation applies
as it is). Members the APIs leave out or send as null are `NotRequired` or `| None`."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

# --- Notify ------------------------------------------------------------------------------------------------------


class TemplateRef(TypedDict):
    id: str
    version: int
    uri: str


class EmailContent(TypedDict):
    body: str
    subject: str
    from_email: str
    one_click_unsubscribe_url: str | None


class SmsContent(TypedDict):
    body: str
    from_number: str


class LetterContent(TypedDict):
    body: str
    subject: str


class SentEmail(TypedDict):
    id: str
    reference: str | None
    content: EmailContent
    uri: str
    template: TemplateRef
    scheduled_for: str | None


class SentSms(TypedDict):
    id: str
    reference: str | None
    content: SmsContent
    uri: str
    template: TemplateRef
    scheduled_for: str | None


class SentLetter(TypedDict):
    id: str
    reference: str | None
    content: LetterContent
    uri: str
    template: TemplateRef
    scheduled_for: str | None
    postage: NotRequired[str]


class Notification(TypedDict):
    id: str
    reference: str | None
    email_address: str | None
    phone_number: str | None
    line_1: str | None
    line_2: str | None
    line_3: str | None
    line_4: str | None
    line_5: str | None
    line_6: str | None
    postcode: str | None
    postage: NotRequired[str | None]
    type: str
    status: str
    template: TemplateRef
    body: str
    subject: str | None
    created_at: str
    created_by_name: str | None
    sent_at: str | None
    completed_at: str | None
    scheduled_for: str | None
    one_click_unsubscribe_url: NotRequired[str | None]
    is_cost_data_ready: NotRequired[bool]
    cost_in_pounds: NotRequired[float | None]
    cost_details: NotRequired[dict[str, Any]]


class BulkJob(TypedDict):
    """A bulk send (`POST /v2/notifications/bulk`, a GaaP addition)."""

    id: str
    name: str
    template_id: str
    template_version: int
    notification_count: int
    job_status: str
    scheduled_for: str | None
    created_at: str


class JobProgress(BulkJob):
    """A bulk send with its notifications counted by status (`GET /v2/jobs/{id}`)."""

    statuses: dict[str, int]


class Template(TypedDict):
    id: str
    name: str
    type: str
    created_at: str
    updated_at: str | None
    created_by: str
    version: int
    body: str
    subject: str | None
    letter_contact_block: NotRequired[str | None]
    postage: NotRequired[str | None]


class TemplatePreview(TypedDict):
    id: str
    type: str
    version: int
    body: str
    subject: str | None
    html: NotRequired[str | None]
    postage: NotRequired[str | None]


class ReceivedText(TypedDict):
    id: str
    created_at: str
    service_id: str
    notify_number: str
    user_number: str
    content: str


# --- Pay ---------------------------------------------------------------------------------------------------------


class Link(TypedDict):
    href: str
    method: str
    type: NotRequired[str]
    params: NotRequired[dict[str, str]]


class PaymentState(TypedDict):
    status: str
    finished: bool
    code: NotRequired[str]
    message: NotRequired[str]
    #: Only on a failed recurring payment: whether the agreement may be charged again.
    can_retry: NotRequired[bool]


class RefundSummary(TypedDict):
    status: str
    amount_available: int
    amount_submitted: int


class Payment(TypedDict):
    payment_id: str
    amount: int
    description: str
    reference: str
    language: str
    state: PaymentState
    return_url: NotRequired[str]
    email: NotRequired[str]
    payment_provider: str
    created_date: str
    delayed_capture: bool
    moto: bool
    refund_summary: RefundSummary
    settlement_summary: dict[str, Any]
    card_details: NotRequired[dict[str, Any]]
    metadata: NotRequired[dict[str, Any]]
    provider_id: NotRequired[str]
    authorisation_mode: NotRequired[str]
    agreement_id: NotRequired[str]
    agreement_payment_type: NotRequired[str]
    capture_submit_time: NotRequired[str]
    captured_date: NotRequired[str]
    fee: NotRequired[int]
    net_amount: NotRequired[int]
    corporate_card_surcharge: NotRequired[int]
    total_amount: NotRequired[int]
    _links: dict[str, Link]


class PaymentEvent(TypedDict):
    payment_id: str
    state: PaymentState
    updated: str
    _links: dict[str, Link]


class Refund(TypedDict):
    refund_id: str
    payment_id: str
    amount: int
    status: str
    created_date: str
    settlement_summary: dict[str, Any]
    _links: dict[str, Link]


class DisputeSettlement(TypedDict):
    settled_date: str


class Dispute(TypedDict):
    """A paying user's challenge of a payment through their bank (`GET /v1/disputes`)."""

    dispute_id: str
    payment_id: str
    amount: int
    created_date: str
    evidence_due_date: str
    reason: str
    status: str
    #: Only where the provider reports fees; `net_amount` is negative (what a lost dispute takes from a payout).
    fee: NotRequired[int]
    net_amount: NotRequired[int]
    #: Only once a lost dispute is settled.
    settlement_summary: NotRequired[DisputeSettlement]
    _links: dict[str, Link]


class PaymentInstrument(TypedDict):
    type: str
    card_details: dict[str, Any]
    created_date: str


class Agreement(TypedDict):
    """A payer's agreement to recurring card payments (`/v1/agreements`): `status` is `created` (no card yet),
    `active`, `cancelled` or `inactive` (a recurring payment was declined with `can_retry: false`)."""

    agreement_id: str
    reference: str
    description: str
    status: str
    user_identifier: NotRequired[str]
    created_date: str
    cancelled_date: NotRequired[str]
    payment_instrument: NotRequired[PaymentInstrument]

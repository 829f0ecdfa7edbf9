"""A citizen paying through a payment link (pay spec §15 B4): the form's rules and the payment it starts.

The payer enters what the link leaves to them: the reference (when the link has a label for it) and the amount in
pounds (when the link has no fixed amount), checked here with GOV.UK-style messages. `?reference=` and
`?amount=<pence>` prefill the form and get the same checks. A reference that looks like a card number is refused
and never shown back. The payment is an ordinary `web` payment made through the create path (`validate_create`
with `from_link`, which answers 400 P0105 to a card number in the reference, and `payments.create`), so it has
its events, its webhooks and its place in search; it comes back to the link's confirmation page.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gaap.db.engine import Database
from services.pay.accounts.models import Account
from services.pay.fields import MAX_AMOUNT
from services.pay.ids import new_id
from services.pay.links.models import LinkPayment, PaymentLink
from services.pay.pages.rendering import pounds
from services.pay.payments import service as payments
from services.pay.payments.representation import Origins
from services.pay.payments.validation import UNSAFE_CHARACTERS, validate_create
from services.pay.provider.cards import contains_card_number

REFERENCE_LIMIT = 255
#: Generated references: three groups of four, without the characters people misread (0/O, 1/I).
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_POUNDS = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?")

ENTER_REFERENCE = "Enter a reference"
REFERENCE_TOO_LONG = "The reference must be 255 characters or fewer"
REFERENCE_CHARACTERS = "The reference must not include < > or |"
REFERENCE_CARD_NUMBER = "Do not enter a card number in the reference"
ENTER_AMOUNT = "Enter an amount"
AMOUNT_FORMAT = "Enter an amount in pounds and pence using digits and a decimal point, like 123.45 or 156.00"
AMOUNT_TOO_LOW = "Enter an amount of at least %(amount)s"
AMOUNT_TOO_HIGH = "Enter an amount of no more than %(amount)s"
AMOUNT_BETWEEN = "Enter an amount from %(low)s to %(high)s"
#: Message ids used from Python, which the template extractor cannot see (their Welsh is checked by a test).
MESSAGES = (
    ENTER_REFERENCE,
    REFERENCE_TOO_LONG,
    REFERENCE_CHARACTERS,
    REFERENCE_CARD_NUMBER,
    ENTER_AMOUNT,
    AMOUNT_FORMAT,
    AMOUNT_TOO_LOW,
    AMOUNT_TOO_HIGH,
    AMOUNT_BETWEEN,
)


@dataclass(frozen=True)
class FormError:
    field: str
    message: str
    #: Values for the message's `%(name)s` placeholders.
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclass
class PayerForm:
    """The form as the payer sees it: their values (a card number removed) and what is wrong with them."""

    reference: str = ""
    amount: str = ""
    errors: list[FormError] = dataclasses.field(default_factory=list)
    #: Once everything needed is valid: the reference and the amount in pence for the payment.
    wanted: tuple[str, int] | None = None


def amount_limits(link: PaymentLink) -> tuple[int, int]:
    return link.min_amount or 1, link.max_amount or MAX_AMOUNT


def pence_of(text: str) -> int | None:
    """Pounds as typed ("12", "12.5", "£1,200.00") in pence; None if it is not an amount."""
    cleaned = text.strip().removeprefix("£").strip()
    if not _POUNDS.fullmatch(cleaned):
        return None
    return int(Decimal(cleaned.replace(",", "")) * 100)


def pounds_text(pence: int) -> str:
    """An amount for the form's input: `12.50`, without the pound sign the input's prefix shows."""
    return f"{pence // 100}.{pence % 100:02d}"


def generated_reference() -> str:
    while True:
        text = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
        reference = "-".join(text[i : i + 4] for i in range(0, 12, 4))
        if not contains_card_number(reference):
            return reference


def prefilled(link: PaymentLink, query: Mapping[str, str]) -> PayerForm:
    """The first view of the form: `?reference=` and `?amount=<pence>` for what the payer enters, checked as a
    submission is, but only the values that were given."""
    given: dict[str, str] = {}
    if link.reference_label is not None and query.get("reference"):
        given["reference"] = query["reference"]
    if link.amount is None and query.get("amount"):
        raw = query["amount"].strip()
        given["amount"] = pounds_text(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else raw
    form = check(link, given)
    form.errors = [error for error in form.errors if error.field in given]
    return form


def check(link: PaymentLink, submitted: Mapping[str, Any]) -> PayerForm:
    """A submitted form: the values to show again, the errors, and what to pay once there are none."""
    form = PayerForm()
    reference = _reference(link, submitted, form)
    amount = _amount(link, submitted, form)
    if not form.errors and reference is not None and amount is not None:
        form.wanted = (reference, amount)
    return form


def _text(submitted: Mapping[str, Any], name: str) -> str:
    value = submitted.get(name)
    return value.strip() if isinstance(value, str) else ""


def _reference(link: PaymentLink, submitted: Mapping[str, Any], form: PayerForm) -> str | None:
    if link.reference_label is None:
        return generated_reference()
    reference = _text(submitted, "reference")
    if contains_card_number(reference):
        form.errors.append(FormError("reference", REFERENCE_CARD_NUMBER))
        return None
    form.reference = reference
    if not reference:
        form.errors.append(FormError("reference", ENTER_REFERENCE))
    elif len(reference) > REFERENCE_LIMIT:
        form.errors.append(FormError("reference", REFERENCE_TOO_LONG))
    elif not UNSAFE_CHARACTERS.isdisjoint(reference):
        form.errors.append(FormError("reference", REFERENCE_CHARACTERS))
    else:
        return reference
    return None


def _amount(link: PaymentLink, submitted: Mapping[str, Any], form: PayerForm) -> int | None:
    if link.amount is not None:
        return link.amount
    form.amount = _text(submitted, "amount")
    if not form.amount:
        form.errors.append(FormError("amount", ENTER_AMOUNT))
        return None
    pence = pence_of(form.amount)
    if pence is None:
        form.errors.append(FormError("amount", AMOUNT_FORMAT))
        return None
    low, high = amount_limits(link)
    if pence < low:
        form.errors.append(FormError("amount", AMOUNT_TOO_LOW, {"amount": pounds(low)}))
    elif pence > high:
        form.errors.append(FormError("amount", AMOUNT_TOO_HIGH, {"amount": pounds(high)}))
    else:
        return pence
    return None


async def start_payment(
    db: Database,
    link: PaymentLink,
    account: Account,
    wanted: tuple[str, int],
    where: Origins,
    token_secret: bytes,
) -> str:
    """Create the link's payment through the create path; returns its `next_url`, where the payer goes next."""
    reference, amount = wanted
    link_payment_id = new_id()
    body: dict[str, Any] = {
        "amount": amount,
        "reference": reference,
        "description": link.description,
        "return_url": f"{where.frontend}/link/{link.service_slug}/{link.slug}/complete/{link_payment_id}",
        "language": link.language,
    }
    if link.metadata_:
        body["metadata"] = link.metadata_
    request = validate_create(body, account, from_link=True)
    async with db.write_session() as session:
        payment = await payments.create(session, account, request, token_secret)
        session.add(
            LinkPayment(id=link_payment_id, link_id=link.id, payment_id=payment.id, created_at=payment.created_at)
        )
        resource = await payments.present(session, payment, where, token_secret)
    next_url: str = resource["_links"]["next_url"]["href"]
    return next_url

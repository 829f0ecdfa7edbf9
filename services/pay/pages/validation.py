"""The card details form, checked on the server whatever the browser did (pay spec §13.3).

The rules and their error codes are GOV.UK Pay's (`alphagov/pay-frontend:app/utils/charge-validation-fields.js`);
the card's brand, type and prepaid checks are the ones `/v1/auth` applies (`payments.authorisation.check_card`).
Each field gives at most one error, and the errors come in the order the form shows the fields, which is the
order of the error summary. The messages are message ids, translated when the page is rendered.

Nothing here logs or echoes a value: the card number and CVC go no further than the `Card` of an accepted form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.pay.accounts.models import Account
from services.pay.pages.countries import DEFAULT, is_country
from services.pay.payments.authorisation import Refusal, check_card
from services.pay.provider.base import Card, CardInfo, CardProvider
from services.pay.provider.cards import MAX_LENGTH, MIN_LENGTH

#: The form's fields, in the order the page shows them (`expiryMonth` stands for the expiry date fieldset).
FIELDS = (
    "cardNo",
    "expiryMonth",
    "cardholderName",
    "cvc",
    "addressLine1",
    "addressLine2",
    "addressCity",
    "addressPostcode",
    "addressCountry",
    "email",
)
#: What each field's error says, whatever its code, unless `CODE_MESSAGES` is more specific (GOV.UK Pay's texts).
FIELD_MESSAGES = {
    "cardNo": "Enter a valid card number",
    "expiryMonth": "Enter a valid expiry date",
    "cardholderName": "Enter the name as it appears on the card",
    "cvc": "Enter a valid card security code",
    "addressLine1": "Enter a valid billing address",
    "addressLine2": "Enter valid address information",
    "addressCity": "Enter a valid town/city",
    "addressPostcode": "Enter a valid postcode",
    "addressCountry": "Enter a valid country or territory",
    "email": "Enter a valid email",
}
CODE_MESSAGES = {
    ("cardNo", "numberIncorrectLength"): "Card number is not the correct length",
    ("cardNo", "cardNotSupported"): "This card type is not accepted",
    ("expiryMonth", "inThePast"): "Enter an expiry date in the future",
}

NAME_MAX = 255
ADDRESS_MAX = 255
POSTCODE_MAX = 25
EMAIL_MAX = 254
#: More digits than this in a name or an address field looks like a card number typed in the wrong box.
MAX_DIGITS = 11
_CARD_CHARACTERS = re.compile(r"[0-9 ]+")
_MONTH = re.compile(r"[1-9]|0[1-9]|1[0-2]")
_YEAR = re.compile(r"[0-9]{2}|[1-9][0-9]{3}")
_SUSPECTED_CVC = re.compile(r"\s*[0-9]{3,4}\s*")
_UK_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}|GIR ?0AA)")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str

    @property
    def message(self) -> str:
        """The message id to translate."""
        return CODE_MESSAGES.get((self.field, self.code), FIELD_MESSAGES[self.field])


@dataclass(frozen=True)
class AcceptedForm:
    """A valid form: the card (for the provider call only) and what pay keeps besides the card fields."""

    card: Card
    info: CardInfo
    billing_address: dict[str, Any] | None
    email: str | None


@dataclass(frozen=True)
class Checked:
    errors: list[FieldError]
    accepted: AcceptedForm | None


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def typed_values(form: Mapping[str, Any]) -> dict[str, str]:
    """What the payer typed, to show again after errors: every field but the CVC, which is always empty then."""
    return {
        name: value for name in (*FIELDS, "expiryYear") if name != "cvc" and isinstance(value := form.get(name), str)
    }


def _digit_count(value: str) -> int:
    return sum(char.isdigit() for char in value)


def _card_number(raw: str, provider: CardProvider, account: Account) -> tuple[str | None, CardInfo | None]:
    """(error code, card info): length (digits and spaces only), then Luhn, then the account's accepted cards."""
    if not raw:
        return "message", None
    number = raw.replace(" ", "")
    if not _CARD_CHARACTERS.fullmatch(raw) or not MIN_LENGTH <= len(number) <= MAX_LENGTH:
        return "numberIncorrectLength", None
    checked = check_card(provider, account, number)
    if checked.refusal is not None:
        return ("luhnInvalid" if checked.refusal == Refusal.luhn_invalid else "cardNotSupported"), None
    return None, checked.info


def _expiry(month: str, year: str, today: date) -> str | None:
    if not month or not year:
        return "message"
    if not _MONTH.fullmatch(month):
        return "invalidMonth"
    if not _YEAR.fullmatch(year):
        return "invalidYear"
    full_year = 2000 + int(year) if len(year) == 2 else int(year)
    if full_year > 2099:
        return "invalidYear"
    if (full_year, int(month)) < (today.year, today.month):
        return "inThePast"
    return None


def _name(value: str) -> str | None:
    if not value or len(value) > NAME_MAX:
        return "message"
    if _digit_count(value) > MAX_DIGITS:
        return "containsTooManyDigits"
    if _SUSPECTED_CVC.fullmatch(value):
        return "containsSuspectedCVC"
    return None


def _address_line(value: str, *, required: bool = True, limit: int = ADDRESS_MAX) -> str | None:
    if (required and not value) or len(value) > limit:
        return "message"
    if _digit_count(value) > MAX_DIGITS:
        return "containsTooManyDigits"
    return None


def normalised_postcode(value: str) -> str:
    """Upper case with runs of spaces collapsed to one, as §13.3 checks a UK postcode."""
    return re.sub(r"\s+", " ", value.upper())


def _postcode(value: str, country: str) -> str | None:
    if not value or len(value) > POSTCODE_MAX:
        return "message"
    if country == DEFAULT and not _UK_POSTCODE.fullmatch(normalised_postcode(value)):
        return "message"
    if _digit_count(value) > MAX_DIGITS:
        return "containsTooManyDigits"
    return None


def _email(value: str, mode: str) -> str | None:
    if not value:
        return "message" if mode == "MANDATORY" else None
    if len(value) > EMAIL_MAX:
        return "invalidLength"
    if not _EMAIL.fullmatch(value) or "." not in value.rpartition("@")[2]:
        return "message"
    return None


def check_form(form: Mapping[str, Any], account: Account, provider: CardProvider, today: date) -> Checked:
    """Every §13.3 rule, for the fields this account's form shows (the billing address when
    `collect_billing_address`, the email unless `email_collection_mode` is `OFF`)."""
    values = {name: _text(form, name) for name in FIELDS if name != "cvc"}
    raw_cvc = form.get("cvc")
    cvc = re.sub(r"[^0-9]", "", raw_cvc) if isinstance(raw_cvc, str) else ""  # 3 or 4 once non-digits are removed
    number_error, info = _card_number(values["cardNo"], provider, account)
    country = values["addressCountry"]
    rules: dict[str, Callable[[], str | None]] = {
        "cardNo": lambda: number_error,
        "expiryMonth": lambda: _expiry(values["expiryMonth"], _text(form, "expiryYear"), today),
        "cardholderName": lambda: _name(values["cardholderName"]),
        "cvc": lambda: None if len(cvc) in (3, 4) else "invalidLength",
    }
    if account.collect_billing_address:
        rules |= {
            "addressLine1": lambda: _address_line(values["addressLine1"]),
            "addressLine2": lambda: _address_line(values["addressLine2"], required=False),
            "addressCity": lambda: _address_line(values["addressCity"]),
            "addressPostcode": lambda: _postcode(values["addressPostcode"], country),
            "addressCountry": lambda: None if is_country(country) else "message",
        }
    if account.email_collection_mode != "OFF":
        rules["email"] = lambda: _email(values["email"], account.email_collection_mode)
    errors = [FieldError(name, code) for name in FIELDS if name in rules and (code := rules[name]()) is not None]
    if errors or info is None:
        return Checked(errors, None)
    year = _text(form, "expiryYear")
    card = Card(
        number=values["cardNo"].replace(" ", ""),
        cvc=cvc,
        expiry_month=int(values["expiryMonth"]),
        expiry_year=2000 + int(year) if len(year) == 2 else int(year),
        cardholder_name=values["cardholderName"],
    )
    address = None
    if account.collect_billing_address:
        address = {"line1": values["addressLine1"], "line2": values["addressLine2"]}
        address |= {"postcode": values["addressPostcode"], "city": values["addressCity"], "country": country}
        if not address["line2"]:
            del address["line2"]  # an empty line is left out, as the resource leaves out every null member
    email = (values["email"] or None) if account.email_collection_mode != "OFF" else None
    return Checked([], AcceptedForm(card, info, address, email))

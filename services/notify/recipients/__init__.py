"""Recipient validation for notify: phone numbers, email addresses and postal addresses.

Pure functions over the committed data tables in `data/` (no database, no web), so the schema layer, the
send path, bulk jobs and the admin console all apply one copy of each rule and share its exact public
messages (spec §4.2, §4.3, §10). Each validator raises its own error class carrying `message`; nothing
else escapes for any input text.

Where each piece is used on a send:

- schema stage: `validate_phone_number`, `validate_email_address` (report `phone_number <message>` /
  `email_address <message>` as a `ValidationError`);
- send path: `check_sms_permissions` (service permissions), `validate_postal_address` and `postage_for`;
- smoke tests and test keys: `is_smoke_test_number`, `is_smoke_test_email`, `simulated_sms_status`,
  `simulated_email_status`;
- billing: `PhoneNumber.rate_multiplier`;
- team members and guest lists: `normalise_recipient`, so stored and requested recipients compare equal.
"""

from __future__ import annotations

from services.notify.recipients.countries import Country, PostageZone, find_country
from services.notify.recipients.email import (
    EmailAddress,
    InvalidEmailError,
    is_smoke_test_email,
    simulated_email_status,
    validate_email_address,
)
from services.notify.recipients.phone import (
    InvalidPhoneError,
    PhoneNumber,
    SmsRecipientRefused,
    check_sms_permissions,
    is_smoke_test_number,
    parse_phone_number,
    simulated_sms_status,
    validate_phone_number,
)
from services.notify.recipients.postal import (
    UK_POSTAGE,
    InvalidAddressError,
    Postage,
    PostalAddress,
    address_from_personalisation,
    address_problem,
    format_postcode,
    parse_postal_address,
    postage_for,
    validate_postal_address,
)

__all__ = [
    "UK_POSTAGE",
    "Country",
    "EmailAddress",
    "InvalidAddressError",
    "InvalidEmailError",
    "InvalidPhoneError",
    "PhoneNumber",
    "Postage",
    "PostageZone",
    "PostalAddress",
    "SmsRecipientRefused",
    "address_from_personalisation",
    "address_problem",
    "check_sms_permissions",
    "find_country",
    "format_postcode",
    "is_smoke_test_email",
    "is_smoke_test_number",
    "normalise_recipient",
    "parse_phone_number",
    "parse_postal_address",
    "postage_for",
    "simulated_email_status",
    "simulated_sms_status",
    "validate_email_address",
    "validate_phone_number",
    "validate_postal_address",
]


def normalise_recipient(notification_type: str, value: str) -> str:
    """The form recipients are compared in (guest lists, team members): E.164 digits or a lowercased address.

    Raises `InvalidPhoneError` or `InvalidEmailError` (both `ValueError`s) for a value that is not one.
    """
    if notification_type == "sms":
        return parse_phone_number(value).normalised_to
    if notification_type == "email":
        return validate_email_address(value).normalised_to
    raise ValueError(f"recipients of {notification_type!r} notifications have no normalised form")

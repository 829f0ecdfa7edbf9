"""Turning templates and personalisation into what is sent (spec §9).

Pure functions and frozen results: no database, no web framework, no I/O beyond reading the
email layout once at import. The API and the delivery workers both render with this package, so
a preview, a send response and the message a provider receives always agree.

- ``placeholders``: ``((name))`` and ``((name??text))``, list values, missing names,
  ``sanitise_content_for`` (shared with letters);
- ``email``: Markdown body → plain text and HTML; ``subjects``: one-line subjects and typography;
- ``sms``: sanitising to GSM-7, encodings and fragment counts;
- ``markdown``: the Markdown dialect, parsed to a tree (letters render the same tree).
"""

from services.notify.rendering.email import (
    EMAIL_MAX_BYTES,
    EmailBrand,
    RenderedEmail,
    append_unsubscribe_link,
    is_empty,
    render_email,
)
from services.notify.rendering.placeholders import (
    ListStyle,
    Personalisation,
    fill,
    missing,
    normalise_name,
    placeholders,
    sanitise_content_for,
    template_personalisation,
)
from services.notify.rendering.sms import (
    SMS_CHARACTER_LIMIT,
    RenderedSms,
    SmsEncoding,
    fragment_count,
    render_sms,
)
from services.notify.rendering.subjects import render_subject

__all__ = [
    "EMAIL_MAX_BYTES",
    "SMS_CHARACTER_LIMIT",
    "EmailBrand",
    "ListStyle",
    "Personalisation",
    "RenderedEmail",
    "RenderedSms",
    "SmsEncoding",
    "append_unsubscribe_link",
    "fill",
    "fragment_count",
    "is_empty",
    "missing",
    "normalise_name",
    "placeholders",
    "render_email",
    "render_sms",
    "render_subject",
    "sanitise_content_for",
    "template_personalisation",
]

"""What a confirmation email says (pay spec §13.1, after GOV.UK Pay's "payment confirmed" email): the service's
name, its own paragraph if it has one, the payment's reference, description, date, total amount and id.

There are two templates in pay's notify service, English and Welsh (§13.7: a `cy` payment's email is Welsh), each
built from the same message ids: the Welsh comes from pay's catalogue (`pages/locale/cy/LC_MESSAGES/messages.po`),
where the payment pages' Welsh lives. The placeholders are filled when the payer confirms (`personalisation`), so
every retry sends what the payer saw.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from gaap.notify_templates import TemplateSpec
from gaap.pages.i18n import Catalogues
from services.pay.accounts.models import Account
from services.pay.pages.rendering import pounds
from services.pay.payments.models import Payment

LOCALE_DIR = Path(__file__).resolve().parents[1] / "pages" / "locale"
LANGUAGES = ("en", "cy")
#: Babel's locale for each payment language: dates are written the way each language writes them.
DATE_LOCALES = {"en": "en_GB", "cy": "cy"}
UK = ZoneInfo("Europe/London")
NAMES = {"en": "GaaP payments: payment confirmation", "cy": "GaaP payments: payment confirmation (Welsh)"}

SUBJECT = "Your payment to ((service_name)) was successful"
HEADING = "Your payment was successful"
INTRO = "We have received your payment to ((service_name))."
#: (label, placeholder) of each line of the summary.
SUMMARY = (
    ("Payment reference:", "reference"),
    ("Payment for:", "description"),
    ("Date of payment:", "date"),
    ("Total amount:", "amount"),
    ("Payment ID:", "payment_id"),
)
KEEP = (
    "Keep this email as a record of your payment. If you need to contact ((service_name)) about it, quote the "
    "payment reference."
)
#: Every message id the templates use, for the test that each has a Welsh translation.
MESSAGES = (SUBJECT, HEADING, INTRO, *(label for label, _field in SUMMARY), KEEP)


def template_specs(catalogues: Catalogues | None = None) -> dict[str, TemplateSpec]:
    """The English and Welsh templates, by payment language."""
    catalogues = catalogues or Catalogues([LOCALE_DIR])
    specs = {}
    for lang in LANGUAGES:

        def say(message: str, lang: str = lang) -> str:
            return catalogues.gettext(lang, message)

        summary = "\n".join(f"{say(label)} (({field}))" for label, field in SUMMARY)
        body = "\n\n".join([f"# {say(HEADING)}", say(INTRO), "((custom_paragraph))", summary, say(KEEP)])
        specs[lang] = TemplateSpec(NAMES[lang], body, say(SUBJECT))
    return specs


def personalisation(payment: Payment, account: Account, confirmed_at: datetime) -> dict[str, str]:
    """The placeholders, as the payer confirmed the payment: the total includes any corporate card surcharge."""
    lang = payment.language if payment.language in LANGUAGES else "en"
    return {
        "service_name": account.service_name,
        "custom_paragraph": (account.email_custom_paragraph or "").strip(),
        "reference": payment.reference,
        "description": payment.description,
        "date": format_datetime(confirmed_at, "d MMMM y, HH:mm", tzinfo=UK, locale=DATE_LOCALES[lang]),
        "amount": pounds(payment.total),
        "payment_id": payment.id,
    }

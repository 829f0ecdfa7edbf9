"""Notification statuses (notify spec §8): the one place their names, finality and aliases are defined."""

from __future__ import annotations

#: Stored statuses, in GOV.UK's NOTIFICATION_STATUS_TYPES order (the order error messages list them in).
STATUSES = (
    "cancelled",
    "created",
    "sending",
    "sent",
    "delivered",
    "pending",
    "failed",
    "technical-failure",
    "temporary-failure",
    "permanent-failure",
    "pending-virus-check",
    "validation-failed",
    "virus-scan-failed",
    "returned-letter",
)
#: Final ("completed") statuses, which set `completed_at`.
FINAL_STATUSES = frozenset(
    {
        "sent",
        "delivered",
        "failed",
        "technical-failure",
        "temporary-failure",
        "permanent-failure",
        "returned-letter",
        "cancelled",
    }
)
#: Aliases a list query may use (§6.2), expanded before filtering.
ALIASES = {
    "failed": (
        "technical-failure",
        "temporary-failure",
        "permanent-failure",
        "validation-failed",
        "virus-scan-failed",
        "returned-letter",
    ),
    "accepted": ("created", "sending"),
    "received": ("delivered",),
}
#: What the API shows for a letter's stored status (§8.2).
LETTER_PUBLIC = {"created": "accepted", "sending": "accepted", "delivered": "received", "returned-letter": "received"}

"""Delivery receipts from providers (notify spec §16.5): the public webhooks `/notifications/email/<provider>`,
`/notifications/sms/<provider>` and the print provider's `/notifications/letter/<provider>`.

- `auth`: the providers' HTTP Basic credentials, checked against notify's settings (the gateway forwards these
  paths without key checks); the SMS providers' inbound-text webhook uses the same check.
- `schemas`: the receipt documents and the answer.
- `service`: a receipt's outcome applied to its notification as one conditional update.
- `print_reports`: the print provider's reports (printed, rejected, returned) applied the same way.
- `endpoints`: the routes.
"""

"""Delivery receipts from providers (notify spec §16.5): the public webhooks `/notifications/email/<provider>` and
`/notifications/sms/<provider>`.

- `auth`: the providers' HTTP Basic credentials, checked against notify's settings (the gateway forwards these
  paths without key checks); the SMS providers' inbound-text webhook uses the same check.
- `schemas`: the receipt documents and the answer.
- `service`: a receipt's outcome applied to its notification as one conditional update.
- `endpoints`: the routes.
"""

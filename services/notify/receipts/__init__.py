"""Delivery receipts from providers (notify spec §16.5): the public webhooks `/notifications/email/<provider>`.

- `auth`: the provider's HTTP Basic credentials, checked against notify's settings (the gateway forwards these paths
  without key checks).
- `schemas`: the receipt document and the answer.
- `service`: a receipt's outcome applied to its notification as one conditional update.
- `endpoints`: the route.
"""

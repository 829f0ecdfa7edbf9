"""Signed webhooks (pay spec §12): per-account subscriptions, an outbox written with each state change, and the
`webhooks` worker lane that delivers, retries and logs every attempt."""

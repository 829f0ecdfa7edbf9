"""Payment confirmation emails (pay spec §13.1): an outbox written with the payer's confirmation, sent through
the platform's notify with the SDK by the worker's `receipts` lane."""

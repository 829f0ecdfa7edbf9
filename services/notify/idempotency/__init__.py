"""Idempotent sends (notify spec §18.9): an `Idempotency-Key` makes a retried send answer with the first 201."""

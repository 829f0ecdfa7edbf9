"""`Idempotency-Key` on every POST (pay spec §4.5, §15 B1)."""

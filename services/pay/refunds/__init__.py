"""Refunds (pay spec §6): never more than `amount_available`, whatever the concurrency."""

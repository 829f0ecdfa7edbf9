"""Agreements for recurring card payments (pay spec §8)."""

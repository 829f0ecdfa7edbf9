"""Sending limits: the per-service daily counters notify enforces, and `GET /v2/limits` (notify spec §11, §18.7)."""

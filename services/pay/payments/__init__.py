"""Card payments: creation, the state machine, search, cancel, capture and events (pay spec §5, §9)."""

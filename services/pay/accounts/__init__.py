"""Pay accounts: one per (service, mode), pushed by the gateway and owned here (pay spec §3)."""

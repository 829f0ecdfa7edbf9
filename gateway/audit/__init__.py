"""The audit log of admin actions, hash-chained so that any edit or deletion is detectable."""

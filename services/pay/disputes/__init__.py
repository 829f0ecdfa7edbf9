"""Disputes (pay spec §10): a paying user's challenge of a captured payment through their bank."""

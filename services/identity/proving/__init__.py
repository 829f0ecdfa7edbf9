"""Identity proving to GPG 45 (spec §10): evidence records, the profile table and its evaluation, and the evidence
sources behind adapter interfaces with built-in sandboxes."""

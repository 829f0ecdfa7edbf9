"""The `gaap` command."""

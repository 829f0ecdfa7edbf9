"""The hosted payment pages (pay spec §13): where a citizen pays a `web` payment. See docs/pay.md, "Payment pages"."""

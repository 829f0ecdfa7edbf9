"""MOTO authorisation by API (pay spec §7): `POST /v1/auth` with a payment's one-time token and the card."""

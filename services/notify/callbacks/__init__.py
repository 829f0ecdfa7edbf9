"""Callbacks to the service's own URLs (notify spec §14, §18.3): delivery statuses and received texts.

`outbox.py` writes a delivery row in the transaction that changes the notification (or stores the text);
`sender.py` is the `callbacks` lane job that POSTs it, signed, with retries; `config.py` holds each service's
URLs, pushed by the gateway; `log.py` reads back what was tried.
"""

"""Delivery (notify spec §16): the worker-side life of a notification after the API has stored it.

- `tasks`: `deliver` (claim, hand over to the channel's sender, `sending`; on failure the §16.3 retries or
  `technical-failure`) and, for test keys, the simulated receipt that sets the final status; the sweeps that
  re-queue work whose job was lost.
- `providers`: what a channel's sender reports (`HandedOver`) and raises (`ProviderError`).
- `email`: the email channel, a row written as a MIME message; `smtp`: the worker's SMTP session (aiosmtplib).
- `sms`: the SMS channel (render, choose a provider, pin it, hand over); `sms_api`: the providers' HTTP APIs
  (`mmg`, `firetext`); `failover`: the providers' weights in Redis, shifted by errors and returned to rest.
- `timeouts`: the hourly move of emails and texts still waiting for a receipt after 72 hours.
- `history`: retention, the nightly move of expired rows to `notification_history` without personal data.

`services.notify.worker` puts them in a worker process; receipts arrive at `services.notify.receipts`.
"""

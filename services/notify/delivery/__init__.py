"""Delivery (notify spec §16): the worker-side life of a notification after the API has stored it.

- `tasks`: `deliver` (claim, hand over to the channel's sender, `sending`) and, for test keys, the simulated
  receipt that sets the final status; the sweeps that re-queue work whose job was lost.
- `history`: retention, the nightly move of expired rows to `notification_history` without personal data.

`services.notify.worker` puts them in a worker process.
"""

"""Usage statistics (`GET /internal/services/{id}/usage`): messages sent per day, by channel and status, and how
much of today's daily limits is used; the console's Usage page reads them."""

"""Usage statistics (`GET /internal/services/{id}/usage`): an account's payments and refunds per day, counted and
summed by state; the console's Usage page reads them."""

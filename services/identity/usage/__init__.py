"""Sign-ins to each service's relying parties: a row per authorization code issued, and the usage statistics and
recent activity the console reads from them (`GET /internal/services/{id}/usage`, `…/sign-ins`)."""

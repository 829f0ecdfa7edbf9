"""The developer inbox (`/v2/inbox/*`): the emails and texts notify's delivery doubles received, shown to the service
that sent them. Development only; production has no doubles and answers 404."""

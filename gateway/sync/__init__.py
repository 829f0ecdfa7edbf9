"""Pushing tenant state from the gateway to the services' `/internal/*` APIs, through a durable outbox."""

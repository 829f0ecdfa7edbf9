"""Invitations to join a service's team, accepted by signing in to the console."""

"""Authenticating API callers at the gateway: Notify JWT keys and Pay bearer keys."""

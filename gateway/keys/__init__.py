"""API keys: Notify-style JWT keys and Pay-style bearer keys, and the platform's admin tokens."""

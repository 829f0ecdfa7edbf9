"""Notifications: accepting sends, reading them back, and their lifecycle."""

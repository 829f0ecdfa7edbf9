"""The console: the pages where departments run their use of the platform."""

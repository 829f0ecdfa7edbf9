"""Payment links (pay spec §15 B4): a department's link that citizens pay without any integration."""

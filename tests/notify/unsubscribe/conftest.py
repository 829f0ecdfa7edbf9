"""The files-by-email rig (see `rig`)."""

"""The files-by-email rig (see `rig`)."""

from tests.notify.documents.rig import files_rig  # noqa: F401  (fixture)

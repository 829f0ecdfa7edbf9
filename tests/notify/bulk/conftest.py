"""The bulk tests use the notify rig, and the delivery tests' database handle and SMTP sink for the lane test."""

from tests.notify.delivery.conftest import db  # noqa: F401  (fixtures)

"""Database kernel: engines, session per request, the base model, column types and migrations."""

from gaap.db.base import Base, TimestampMixin, utcnow
from gaap.db.engine import Database, is_sqlite
from gaap.db.types import UTCDateTime

__all__ = ["Base", "Database", "TimestampMixin", "UTCDateTime", "is_sqlite", "utcnow"]

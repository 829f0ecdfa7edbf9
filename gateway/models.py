"""The gateway's declarative base: its own metadata, so its Alembic history holds only its tables."""

from gaap.db.base import Base as KernelBase
from gaap.db.base import new_metadata


class Base(KernelBase):
    __abstract__ = True
    metadata = new_metadata()

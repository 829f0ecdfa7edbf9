"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Dialect, String, Text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.types import TypeDecorator

from gaap.crypto import registered_box


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases.

    PostgreSQL stores `timestamptz`. SQLite has no such type and hands back naive values, so this stores UTC and
    re-attaches the zone on the way out. Naive datetimes are refused on the way in: they are always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class GUID(TypeDecorator[uuid.UUID]):
    """UUIDs: native `uuid` on PostgreSQL, 36-character text on SQLite."""

    impl = String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PG_UUID(as_uuid=True))
        return dialect.type_descriptor(String(36))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            value = uuid.UUID(str(value))
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None:
            return None
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest with the component's keyring (AES-GCM, `gaap.crypto.register_box`): for personal
    data such as message content and personalisation, so a database dump alone reveals none of it."""

    impl = Text
    cache_ok = True

    def __init__(self, keyring: str) -> None:
        super().__init__()
        self.keyring = keyring

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else registered_box(self.keyring).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else registered_box(self.keyring).decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document encrypted at rest (see `EncryptedText`)."""

    impl = Text
    cache_ok = True

    def __init__(self, keyring: str) -> None:
        super().__init__()
        self.keyring = keyring

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else registered_box(self.keyring).encrypt(orjson.dumps(value).decode())

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(registered_box(self.keyring).decrypt(value))

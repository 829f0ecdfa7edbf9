"""Alembic histories, one per component (STYLE habit 8): one head each, a clean upgrade on both databases that
leaves the database exactly as the models describe it, and an idempotent `gaap migrate`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection

from gaap.cli.components import COMPONENTS, migrations_dir
from gaap.db import Database
from gaap.db.migrate import heads, upgrade


def component_metadata(name: str) -> MetaData:
    """The component's metadata with every `models` module of its package imported, wherever it lives, so a model
    module that the migration environment forgot to import still counts."""
    package = COMPONENTS[name].package
    base = importlib.import_module(f"{package}.models").Base
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if module.name.endswith(".models") and ".migrations" not in module.name:
            importlib.import_module(module.name)
    metadata: MetaData = base.metadata
    return metadata


def with_history() -> Iterator[str]:
    for name in COMPONENTS:
        if heads(migrations_dir(name)):
            yield name


MIGRATED = list(with_history())


@pytest.mark.parametrize("name", list(COMPONENTS))
def test_each_component_has_at_most_one_head(name: str) -> None:
    directory = migrations_dir(name)

    assert (directory / "env.py").is_file()
    assert len(heads(directory)) <= 1, f"{name} has several heads: merge them"


def test_the_gateway_has_a_history() -> None:
    assert "gateway" in MIGRATED


@pytest.fixture(params=["sqlite", "postgresql"], name="fresh_url")
def fresh_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (a sync fixture: the PostgreSQL factory runs its own event loop)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/migrated.db"
    factory: Any = request.getfixturevalue("make_postgres_database")
    return str(factory("migr"))


def differences(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def snapshot(connection: Connection) -> dict[str, Any]:
    """Everything an upgrade could change: tables, columns, indexes, constraints and the recorded revision."""
    inspector = inspect(connection)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "indexes": sorted(
                (i["name"] or "", tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"] or "", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
            "rows": connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar(),
        }
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return {"tables": tables, "versions": sorted(versions)}


@pytest.mark.parametrize("name", MIGRATED)
async def test_history_upgrades_to_the_models_and_twice_is_a_no_op(name: str, fresh_url: str) -> None:
    directory = migrations_dir(name)
    metadata = component_metadata(name)
    assert metadata.tables, f"{name} has a history but no tables"

    await upgrade(directory, fresh_url)

    db = Database(fresh_url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(differences, metadata)
            first = await conn.run_sync(snapshot)
        assert diff == [], f"{name}: the models and the migrations disagree: {diff}"
        assert first["versions"] == heads(directory)
        assert set(metadata.tables) <= set(first["tables"])

        await upgrade(directory, fresh_url)

        async with db.engine.connect() as conn:
            assert await conn.run_sync(snapshot) == first
    finally:
        await db.dispose()

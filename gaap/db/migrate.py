"""Alembic migrations, one history (and one head) per component, run as their own step (`gaap migrate`).

Each component keeps `migrations/` beside its code with an `env.py` that calls `run_env(metadata)`. Migrations run
over the component's own async engine (so SQLite gets the same pragmas and locking as at run time), sharing the
connection with Alembic as its cookbook describes for asyncio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from gaap.db.engine import Database


def alembic_config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def heads(migrations_dir: Path) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(migrations_dir, "sqlite://")).get_heads())


async def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    db = Database(url, pool_size=1)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_run_command, migrations_dir, url, "upgrade", revision)
    finally:
        await db.dispose()


async def revision(migrations_dir: Path, url: str, message: str) -> None:
    """Autogenerate a revision against a database already at head (used by `gaap db revision`)."""
    db = Database(url, pool_size=1)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_run_command, migrations_dir, url, "revision", message)
    finally:
        await db.dispose()


def _run_command(connection: Connection, migrations_dir: Path, url: str, name: str, arg: str) -> None:
    config = alembic_config(migrations_dir, url)
    config.attributes["connection"] = connection
    if name == "upgrade":
        command.upgrade(config, arg)
    else:
        command.revision(config, message=arg, autogenerate=True)


def run_env(metadata: MetaData) -> None:
    """The body of every component's `env.py`."""
    connection: Any = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `gaap migrate`, which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="gaap.db.types.",
    )
    with context.begin_transaction():
        context.run_migrations()

"""Engine, sessions and schema migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm_core.assets import MIGRATIONS_DIR

log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_MS = 5000


def create_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys, a busy timeout and real transactions."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        # hide_parameters: an error logged must not carry customers' names, phones or messages.
        engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout_ms=busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # A row another session holds locked is waited for at most this long, then reported busy (55P03).
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True,
                               connect_args={"server_settings": {"lock_timeout": f"{int(busy_timeout_ms)}ms"}})


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int) -> None:
    # The driver's own transaction handling begins lazily, only before DML, so a SAVEPOINT
    # could open (and its RELEASE commit) the outer transaction; we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, waiting up to the busy timeout for it. A deferred
    # transaction that has read cannot start writing after another connection committed: SQLite
    # fails it at once ("database is locked") instead of waiting, so a burst of chats got "busy".
    # Transactions are short by design (flows end their reads before slow work, see uow.end_reads).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Create the session factory the units of work use."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Build the Alembic configuration for `url` without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str) -> tuple[str | None, str | None]:
    """Migrate the database at `url` to the latest schema (blocking); return its schema revision before and after."""
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
    config = alembic_config(url)
    before = _revision(url)
    command.upgrade(config, "head")
    return before, _revision(url)


def _revision(url: str) -> str | None:
    """Return the database's alembic revision (None when it has no schema yet); runs its own event loop,
    as Alembic's async migration environment does."""
    return asyncio.run(_current_revision(url))


async def _current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


async def upgrade(url: str) -> None:
    """Migrate the database at `url` to the latest schema."""
    await asyncio.to_thread(upgrade_sync, url)

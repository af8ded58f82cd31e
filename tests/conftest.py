"""Shared fixtures: an isolated environment, a migrated database per test on each backend, services.

Backends: every test that uses `backend` (through `db_url`, `migrated_url`, `sessionmaker` or
`open_services`) runs once on SQLite and once on PostgreSQL. The PostgreSQL run needs
`CHATCRM_TEST_POSTGRES_URL` (e.g. `postgresql+asyncpg://postgres@127.0.0.1:5432/test`) and is
skipped without it. Each PostgreSQL test gets a database of its own on that server (see below),
so the application's own URL-based code (`crm_core.db.create_engine`, `crm_core.db.upgrade`, the
Alembic env) runs unchanged and tests never see each other's rows.

`db_url` is an empty database (for migration tests). `migrated_url` is a copy of a template that
the project's Alembic migrations built once per session (SQLite: a backup of the file;
PostgreSQL: `CREATE DATABASE ... TEMPLATE`), which keeps a test's setup in milliseconds. A PostgreSQL copy
costs about a second to create and drop, most of the suite's time, so after a test its database is emptied
back to the template's rows and reused by the next test (`_PostgresPool`); one whose schema or database
settings the test changed, or that cannot be emptied, is dropped instead (what is and is not caught: there).

Usage in a test:

    async def test_something(open_services):
        async with open_services() as services:   # one committed unit of work
            await services.users.add(name="Lan", role="sales")
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, closing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from crm_core.clock import FrozenClock
from crm_core.db import create_engine, create_sessionmaker, upgrade_sync
from crm_core.services import Services
from crm_core.uow import UnitOfWork

POSTGRES_ENV = "CHATCRM_TEST_POSTGRES_URL"
TEST_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
# Variables a developer's shell may carry that would leak into Settings() or reach a real server.
_LEAKY_ENV = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL")


def _isolate_environment() -> None:
    """Run offline and ignore the developer's chatcrm configuration; CHATCRM_TEST_* stays."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    for key in list(os.environ):
        if (key.startswith("CHATCRM_") and not key.startswith("CHATCRM_TEST_")) or key in _LEAKY_ENV:
            del os.environ[key]


_isolate_environment()
# The scheduled summary and digest are tested where they are the subject (tests/bot/test_summary_pushes.py,
# which turns them on); elsewhere a scheduler tick pushes reminders, escalations and draft reminders only.
os.environ["CHATCRM_PUSHES__ENABLED"] = "false"


OpenServices = Callable[..., AbstractAsyncContextManager[Services]]


@pytest.fixture(autouse=True, scope="session")
def _chatcrm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point CHATCRM_HOME at a throwaway folder so no test writes ./data."""
    home = tmp_path_factory.mktemp("chatcrm-home")
    os.environ["CHATCRM_HOME"] = str(home)
    yield home
    os.environ.pop("CHATCRM_HOME", None)


@pytest.fixture
def clock() -> FrozenClock:
    """Return a clock frozen at Monday 23/11/2026 10:00 in Ho Chi Minh City."""
    return FrozenClock(TEST_NOW)


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def _create_database(server_url: str, name: str, *, template: str | None = None) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            clause = f' TEMPLATE "{template}"' if template else ""
            await connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    finally:
        await admin.dispose()


async def _drop_database(server_url: str, name: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@asynccontextmanager
async def _postgres_database(server_url: str, *, template: str | None = None) -> AsyncIterator[str]:
    """Create a database on the server of `server_url` (a copy of `template` if given); drop it afterwards."""
    name = f"chatcrm_t_{uuid.uuid4().hex[:16]}"
    await _create_database(server_url, name, template=template)
    try:
        yield _database_url(server_url, name)
    finally:
        await _drop_database(server_url, name)


def _postgres_server_url() -> str:
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} not set")
    return server_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Return the database backend of this run: `sqlite`, or `postgres` when the server is configured."""
    if request.param == "postgres":
        _postgres_server_url()
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file migrated once per session by the project's Alembic migrations."""
    path = tmp_path_factory.mktemp("template") / "crm.sqlite3"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """Yield the name of a PostgreSQL database migrated once per session by the project's migrations."""
    server_url = _postgres_server_url()
    name = f"chatcrm_tpl_{uuid.uuid4().hex[:16]}"
    asyncio.run(_create_database(server_url, name))
    try:
        upgrade_sync(_database_url(server_url, name))
        yield name
    finally:
        asyncio.run(_drop_database(server_url, name))


# Everything about a database's schema and settings a test could change, as one md5 (see `_PostgresPool`):
# columns (type, length, precision, nullability, default, identity, collation), relations (kind, UNLOGGED,
# row security, storage options, view definitions), indexes, constraints, triggers (and whether enabled),
# functions and procedures (whole definition), types (enums with their labels, domains, composite types; not
# the row types tables come with), sequence parameters, row-security policies, rules, schemas, extensions,
# and the database's own settings (`ALTER DATABASE ... SET`, connection limit, allowed connections).
_SCHEMA_FINGERPRINT = text(
    "SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM ("
    " SELECT 'column:' || ROW(table_name, column_name, data_type, udt_name, character_maximum_length,"
    " numeric_precision, numeric_scale, datetime_precision, is_nullable, column_default, collation_name,"
    " is_identity, identity_generation, is_generated, generation_expression)::text AS item"
    " FROM information_schema.columns WHERE table_schema = 'public'"
    " UNION ALL SELECT 'relation:' || ROW(relname, relkind, relpersistence, relrowsecurity, relforcerowsecurity,"
    " reloptions, CASE WHEN relkind IN ('v', 'm') THEN pg_get_viewdef(oid) END)::text"
    " FROM pg_class WHERE relnamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'index:' || indexdef FROM pg_indexes WHERE schemaname = 'public'"
    " UNION ALL SELECT 'constraint:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE connamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'trigger:' || ROW(tgenabled, pg_get_triggerdef(oid))::text FROM pg_trigger"
    " WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
    " UNION ALL SELECT 'routine:' || ROW(oid::regprocedure, prokind, pg_get_function_result(oid),"
    " CASE WHEN prokind IN ('f', 'p') THEN pg_get_functiondef(oid) ELSE prosrc END)::text"
    " FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'type:' || ROW(t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,"
    " t.typdefault, (SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum"
    " WHERE enumtypid = t.oid), (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ','"
    " ORDER BY attnum) FROM pg_attribute WHERE attrelid = t.typrelid AND attnum > 0 AND NOT attisdropped))::text"
    " FROM pg_type AS t WHERE t.typnamespace = 'public'::regnamespace"
    " AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')"
    " UNION ALL SELECT 'sequence:' || ROW(sequencename, data_type, start_value, min_value, max_value,"
    " increment_by, cycle, cache_size)::text FROM pg_sequences WHERE schemaname = 'public'"
    " UNION ALL SELECT 'policy:' || ROW(polname, polrelid::regclass, polcmd, polpermissive,"
    " pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid))::text FROM pg_policy"
    " UNION ALL SELECT 'rule:' || definition FROM pg_rules WHERE schemaname = 'public'"
    " UNION ALL SELECT 'schema:' || nspname FROM pg_namespace"
    " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
    " UNION ALL SELECT 'extension:' || extname || ' ' || extversion FROM pg_extension"
    " UNION ALL SELECT 'database:' || ROW(datconnlimit, datallowconn, datistemplate)::text FROM pg_database"
    " WHERE datname = current_database()"
    " UNION ALL SELECT 'setting:' || ROW(setrole::regrole, setconfig)::text FROM pg_db_role_setting"
    " WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())) AS parts"
)


class _PostgresPool:
    """Migrated PostgreSQL databases reused from test to test.

    `CREATE DATABASE ... TEMPLATE` and `DROP DATABASE` take about a second per test on this machine, most of
    the suite's time. A database a test is done with has every other connection ended, every table emptied
    and the template's rows put back, and every sequence restarted, in one transaction; the next test gets it
    as if new. A database whose `_SCHEMA_FINGERPRINT` no longer matches the template's is dropped instead, as
    is one that fails to reset. That catches a test that ran a migration or changed, in the public schema, a
    column (type, length, precision, nullability, default), an index, constraint, trigger, function, type
    (an enum's labels too), view, rule, row-security policy or a sequence's parameters (INCREMENT BY,
    START, bounds, CYCLE); or that created a schema or an extension, or set something on the database
    (`ALTER DATABASE ... SET timezone`, also per role, or its connection limit).

    Not caught, so carried into the next test: a connection opened after the reset, e.g. a background task a
    test left running that reconnects and writes (ending connections only happens once, before the reset);
    grants, owners and comments; large objects; objects inside the system schemas; and anything outside this
    database (roles and `ALTER ROLE ... SET`, `ALTER SYSTEM`, other databases). Data and sequence values are
    not compared: they are put back, whatever the test did.
    """

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.template = template
        self.free: list[str] = []
        self.made: set[str] = set()
        self._fingerprint: str | None = None
        self._rows: dict[str, list[dict[str, object]]] = {}
        self._tables: list[str] = []
        self._sequences: list[str] = []

    async def _read_template(self) -> None:
        engine = create_async_engine(_database_url(self.server_url, self.template))
        try:
            async with engine.connect() as connection:
                self._fingerprint = str(await connection.scalar(_SCHEMA_FINGERPRINT))
                self._tables = list(await connection.scalars(text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")))
                self._sequences = list(await connection.scalars(text(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")))
                if any(v is not None for v in await connection.scalars(text(
                        "SELECT last_value FROM pg_sequences WHERE schemaname = 'public'"))):
                    raise RuntimeError("the migrated template has used sequences: restore them in _reset")
                for table in self._tables:
                    rows = (await connection.execute(text(f'SELECT * FROM "{table}"'))).mappings().all()
                    if rows:
                        self._rows[table] = [dict(row) for row in rows]
        finally:
            await engine.dispose()

    async def take(self) -> str:
        """Return the name of a database at the template's state."""
        if self._fingerprint is None:
            await self._read_template()
        if self.free:
            return self.free.pop()
        name = f"chatcrm_t_{uuid.uuid4().hex[:16]}"
        await _create_database(self.server_url, name, template=self.template)
        self.made.add(name)
        return name

    async def give_back(self, name: str) -> None:
        """Reset the database for the next test, or drop it when it cannot be."""
        try:
            reset = await self._reset(name)
        except Exception:  # any failure to reset means a fresh copy next time
            reset = False
        if reset:
            self.free.append(name)
            return
        self.made.discard(name)
        await _drop_database(self.server_url, name)

    async def _reset(self, name: str) -> bool:
        admin = create_async_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        finally:
            await admin.dispose()
        engine = create_async_engine(_database_url(self.server_url, name))
        try:
            async with engine.begin() as connection:
                if str(await connection.scalar(_SCHEMA_FINGERPRINT)) != self._fingerprint:
                    return False
                # Foreign keys are not checked while emptying (any order) or refilling: superuser only.
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
                for table in self._tables:
                    await connection.execute(text(f'DELETE FROM "{table}"'))
                for table, rows in self._rows.items():
                    columns = list(rows[0])
                    names = ", ".join(f'"{c}"' for c in columns)
                    values = ", ".join(f":{c}" for c in columns)
                    await connection.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), rows)
                for sequence in self._sequences:
                    await connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
            return True
        finally:
            await engine.dispose()

    async def drop_all(self) -> None:
        for name in sorted(self.made):
            await _drop_database(self.server_url, name)


@pytest.fixture(scope="session")
def postgres_pool(postgres_template: str) -> Iterator[_PostgresPool]:
    """Yield the session's pool of migrated PostgreSQL databases; drop them at the end."""
    pool = _PostgresPool(_postgres_server_url(), postgres_template)
    try:
        yield pool
    finally:
        asyncio.run(pool.drop_all())


@pytest.fixture
def migrated_template(backend: str, request: pytest.FixtureRequest) -> str:
    """Return the session's migrated template of this backend (a file path or a database name)."""
    return str(request.getfixturevalue(f"{backend}_template"))


@pytest_asyncio.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty database: a fresh SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    async with _postgres_database(_postgres_server_url()) as url:
        yield url


@pytest_asyncio.fixture
async def migrated_url(
    backend: str, migrated_template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """Yield the URL of a fresh database at the latest schema: a copy of the session's migrated template."""
    if backend == "sqlite":
        path = tmp_path / "crm.sqlite3"
        with closing(sqlite3.connect(migrated_template)) as source, closing(sqlite3.connect(path)) as target:
            source.backup(target)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pool: _PostgresPool = request.getfixturevalue("postgres_pool")
    name = await pool.take()
    try:
        yield _database_url(pool.server_url, name)
    finally:
        await pool.give_back(name)


@pytest_asyncio.fixture
async def sessionmaker(migrated_url: str, clock: FrozenClock) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory over the migrated database, with the default pipeline installed."""
    engine = create_engine(migrated_url)
    factory = create_sessionmaker(engine)
    try:
        async with UnitOfWork(factory) as uow:
            await Services.build(uow.session, now=clock.now()).pipelines.ensure_default()
        yield factory
    finally:
        await engine.dispose()


@asynccontextmanager
async def services_in(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, undo_minutes: int = 5
) -> AsyncIterator[Services]:
    """Open a unit of work and yield the services over it; commit on success, roll back on error."""
    async with UnitOfWork(sessionmaker) as uow:
        yield Services.build(uow.session, now=now, undo_minutes=undo_minutes)


@pytest.fixture
def open_services(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> OpenServices:
    """Return `open_services(now=None, undo_minutes=5)`: a unit of work at the clock's current time."""

    def _open(*, now: datetime | None = None, undo_minutes: int = 5) -> AbstractAsyncContextManager[Services]:
        return services_in(sessionmaker, now=now or clock.now(), undo_minutes=undo_minutes)

    return _open

"""`chatcrm backup DIR` and `chatcrm restore DIR`: a consistent copy of a home while the bot runs, and back.

What is copied:
- the database: SQLite through its online backup API (`sqlite3.Connection.backup`: a consistent snapshot
  even while another process writes; readers and writers are not stopped), or `pg_dump --format=custom`
  on PostgreSQL (one snapshot transaction) when pg_dump is installed, else a clear refusal;
- the Chroma directory: its SQLite file through the same backup API, its other files (vector segments)
  copied as they are;
- every other file of the home (uploads), except the live database's -wal/-shm files and the derived
  caches (`home/cache/`, any pickle): loading a pickle can run code, so none is ever copied back, and the
  knowledge base rebuilds its cache on the first question (crm_core/retrieval/cache.py).
Prompt versions, users, pipelines and the audit trail live in the database and travel with it.

`manifest.json` lists each file with its size and SHA-256; restore checks every one before writing
anything, and restores only into an empty home (an empty PostgreSQL database). A manifest path must name a
plain file inside the backup folder and land inside the home: an absolute path, `..`, or a symlink on the way
refuses the whole restore before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crm_core.config import Settings
from crm_core.errors import InvalidInput

MANIFEST = "manifest.json"
SQLITE_COPY = "database.sqlite3"
PG_DUMP = "database.pgdump"
HOME_DIR = "home"
FORMAT_VERSION = 1
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# Derived data the app rebuilds, never backed up or restored: a pickle runs code when loaded.
_DERIVED_FOLDERS = ("cache",)
_UNSAFE_SUFFIXES = (".pickle", ".pkl")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite file consistently (the online backup API), whatever other processes are doing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _libpq_url(url: str) -> str:
    """Return a URL pg_dump and pg_restore understand (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _database_file(config: Settings) -> Path | None:
    url = make_url(config.resolved_database_url)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def _derived(relative: Path) -> bool:
    """True for a home file the app rebuilds by itself (caches, pickles): left out of backups and restores."""
    return (bool(relative.parts) and relative.parts[0] in _DERIVED_FOLDERS) or \
        relative.suffix.lower() in _UNSAFE_SUFFIXES


def _home_files(home: Path, skip: set[Path]) -> Iterator[Path]:
    for path in sorted(home.rglob("*")):
        if path.is_file() and path.resolve() not in skip and not _derived(path.relative_to(home)):
            yield path


def _checked_path(listed: object) -> Path:
    """The manifest path `listed` as a relative path, or InvalidInput: only the database copy, the dump and
    plain paths under home/ are a backup's; absolute paths and `..` could write anywhere."""
    if not isinstance(listed, str) or not listed or "\\" in listed or "\x00" in listed:
        raise InvalidInput(f"{listed!r} in {MANIFEST} is not a file path; nothing was restored")
    relative = Path(listed)
    parts = listed.split("/")
    if relative.is_absolute() or any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(f"{listed} in {MANIFEST} points outside the backup; nothing was restored")
    if listed not in (SQLITE_COPY, PG_DUMP) and (parts[0] != HOME_DIR or len(parts) < 2):
        raise InvalidInput(f"{listed} in {MANIFEST} is not a file a backup holds; nothing was restored")
    return relative


def _inside(folder: Path, relative: Path, listed: str) -> Path:
    """`folder / relative`, or InvalidInput when a symlink on the way leads out of (or around inside) `folder`."""
    base = folder.resolve()
    path = base.joinpath(relative)
    if path.resolve() != path or not path.resolve().is_relative_to(base):
        raise InvalidInput(f"{listed} in {MANIFEST} goes through a symlink; nothing was restored")
    return path


def _empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def backup(config: Settings, target: Path, *, now: datetime | None = None) -> dict[str, Any]:
    """Write a consistent copy of the home (and its database) into the empty folder `target`; return the manifest."""
    if not _empty(target):
        raise InvalidInput(f"{target} is not empty; back up into a new or empty folder")
    target.mkdir(parents=True, exist_ok=True)
    home = config.home.resolve()
    if target.resolve().is_relative_to(home):
        raise InvalidInput(f"{target} is inside the home {home}; back up somewhere else")
    skip: set[Path] = set()
    database = _database_file(config)
    if database is not None:
        if not database.exists():
            raise InvalidInput(f"no database at {database}; nothing to back up")
        _sqlite_copy(database, target / SQLITE_COPY)
        skip |= {database.resolve()} | {Path(f"{database}{side}").resolve() for side in _SQLITE_SIDE_FILES}
        kind = "sqlite"
    else:
        _pg_dump(config.resolved_database_url, target / PG_DUMP)
        kind = "postgresql"
    for path in _home_files(home, skip):
        relative = path.relative_to(home)
        if path.name.endswith(_SQLITE_SIDE_FILES):
            continue  # their content is in the copy made through the backup API
        copy = target / HOME_DIR / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite(path):
            _sqlite_copy(path, copy)  # Chroma's own database, written while the bot runs
        else:
            shutil.copy2(path, copy)
    files = [{"path": p.relative_to(target).as_posix(), "bytes": p.stat().st_size, "sha256": _sha256(p)}
             for p in sorted(target.rglob("*")) if p.is_file()]
    manifest = {"format": FORMAT_VERSION, "created_at": (now or datetime.now(UTC)).isoformat(), "database": kind,
                "files": files}
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def _pg_dump(url: str, target: Path) -> None:
    tool = shutil.which("pg_dump")
    if tool is None:
        raise InvalidInput("the database is PostgreSQL and pg_dump is not installed; install the PostgreSQL client "
                           "tools (e.g. apt-get install postgresql-client) and run the backup again")
    done = subprocess.run([tool, "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"pg_dump failed: {done.stderr.strip()[:300]}")


def verify(source: Path) -> dict[str, Any]:
    """Check a backup folder against its manifest; InvalidInput naming the first file that differs."""
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise InvalidInput(f"{source} has no {MANIFEST}; it is not a chatcrm backup")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if not isinstance(entry, dict):
            raise InvalidInput(f"{MANIFEST} lists {entry!r}, not a file; nothing was restored")
        _inside(source, _checked_path(entry.get("path")), entry["path"])
    listed = {entry["path"] for entry in manifest["files"]}
    for entry in manifest["files"]:
        path = source / entry["path"]
        if not path.is_file():
            raise InvalidInput(f"{entry['path']} is missing from the backup; nothing was restored")
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise InvalidInput(f"{entry['path']} does not match its checksum in {MANIFEST}; nothing was restored")
    extra = [p.relative_to(source).as_posix() for p in source.rglob("*")
             if p.is_file() and p.name != MANIFEST and p.relative_to(source).as_posix() not in listed]
    if extra:
        raise InvalidInput(f"{extra[0]} is in the backup but not in {MANIFEST}; nothing was restored")
    return manifest


def restore(config: Settings, source: Path) -> dict[str, Any]:
    """Bring a verified backup back into an empty home (and an empty PostgreSQL database); return its manifest."""
    manifest = verify(source)
    home = config.home
    if not _empty(home):
        raise InvalidInput(f"the home {home} is not empty; restore into a new or empty home (CHATCRM_HOME)")
    database = _database_file(config)
    if manifest["database"] == "sqlite" and database is None:
        raise InvalidInput("this backup holds a SQLite database but CHATCRM_DATABASE_URL points at PostgreSQL; "
                           "unset it to restore into the home's SQLite file")
    if manifest["database"] == "postgresql" and database is not None:
        raise InvalidInput("this backup holds a PostgreSQL dump; set CHATCRM_DATABASE_URL to an empty database")
    copies = _home_copies(source, home, manifest)
    if manifest["database"] == "postgresql":
        _pg_restore(config.resolved_database_url, source / PG_DUMP)
    home.mkdir(parents=True, exist_ok=True)
    for copy, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy, target)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / SQLITE_COPY, database)
        os.chmod(database, 0o600)
    return manifest


def _home_copies(source: Path, home: Path, manifest: dict[str, Any]) -> list[tuple[Path, Path]]:
    """(file in the backup, where it goes in the home) for each home file, each checked to land inside the home;
    caches and pickles (from a backup made before they were left out) are not brought back."""
    copies = []
    for entry in manifest["files"]:
        parts = Path(entry["path"]).parts
        if parts[0] == HOME_DIR and not _derived(Path(*parts[1:])):
            copies.append((source / entry["path"], _inside(home, Path(*parts[1:]), entry["path"])))
    return copies


def _pg_restore(url: str, dump: Path) -> None:
    tool = shutil.which("pg_restore")
    if tool is None:
        raise InvalidInput("this backup is a PostgreSQL dump and pg_restore is not installed; install the "
                           "PostgreSQL client tools and run the restore again")
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whoever calls (the CLI, or a test's running loop)
        tables = pool.submit(asyncio.run, _pg_tables(url)).result()
    if tables:
        raise InvalidInput("the PostgreSQL database is not empty; restore into a new, empty database")
    done = subprocess.run([tool, "--no-owner", "--exit-on-error", "--single-transaction",
                           f"--dbname={_libpq_url(url)}", str(dump)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"pg_restore failed: {done.stderr.strip()[:300]}")


async def _pg_tables(url: str) -> int:
    from sqlalchemy import text

    from crm_core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            count = await connection.scalar(text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
            return int(count or 0)
    finally:
        await engine.dispose()

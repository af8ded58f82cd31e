"""`chatcrm import` and `chatcrm export`: open the home's store, call the spreadsheet flows, show a progress bar."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import make_clock, prepare_store
from bot.texts import Texts
from crm_core.clock import Clock
from crm_core.config import Settings
from crm_core.spreadsheets import ExportReport, ImportReport, export_workbook, import_spreadsheet, write_template

# Below this many rows an import is over before a bar would help.
PROGRESS_FROM_ROWS = 2000
Progress = Callable[[int, int], None]


async def import_path(config: Settings, path: Path, *, dry_run: bool, progress: Progress | None) -> ImportReport:
    """Import a workbook, CSV file or folder of CSV files into the home (or only report, with `dry_run`)."""
    clock = make_clock(config, None)
    async with _store(config, clock, dry_run=dry_run) as sessionmaker:
        return await import_spreadsheet(sessionmaker, path, now=clock.now(), tz=config.tz, actor="cli",
                                        dry_run=dry_run, progress=progress)


@asynccontextmanager
async def _store(config: Settings, clock: Clock, *, dry_run: bool
                 ) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Open the home's store; for a dry run on a home without its database yet, a scratch copy deleted after.

    A trial run promises to write nothing, and creating the home's SQLite file (the whole schema) is a write. An
    empty CRM migrated in a scratch folder answers exactly as the missing one would once created.
    """
    if dry_run and not _database_exists(config):
        with tempfile.TemporaryDirectory(prefix="chatcrm-dry-run-") as scratch:
            scratch_config = config.model_copy(update={"home": Path(scratch), "database_url": None})
            db, sessionmaker = await prepare_store(scratch_config, clock)
            try:
                yield sessionmaker
            finally:
                await db.dispose()
        return
    db, sessionmaker = await prepare_store(config, clock)
    try:
        yield sessionmaker
    finally:
        await db.dispose()


def _database_exists(config: Settings) -> bool:
    """Whether the home's database is there already (a server database always is; a SQLite file may not be)."""
    url = make_url(config.resolved_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return True
    return Path(url.database).exists()


async def export_path(config: Settings, path: Path, *, lang: str) -> ExportReport:
    """Write the home's CRM to a workbook."""
    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        return await export_workbook(sessionmaker, path, lang=lang, tz=config.tz, words=Texts(lang).words)
    finally:
        await db.dispose()


def template_path(path: Path, *, lang: str) -> None:
    """Write the empty template workbook."""
    write_template(path, lang=lang)


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """Yield a progress callback drawing a bar on stderr (only on a terminal, only for long files)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True, disable=not console.is_terminal)
    task = None

    def advance(done: int, total: int) -> None:
        nonlocal task
        if total < PROGRESS_FROM_ROWS:
            return
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=max(total, done))

    try:
        yield advance
    finally:
        bar.stop()

"""`chatcrm import` and `chatcrm export`: open the home's store, call the spreadsheet flows, show a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.app import make_clock, prepare_store
from crm_core.config import Settings
from crm_core.spreadsheets import ExportReport, ImportReport, export_workbook, import_spreadsheet, write_template

# Below this many rows an import is over before a bar would help.
PROGRESS_FROM_ROWS = 2000
Progress = Callable[[int, int], None]


async def import_path(config: Settings, path: Path, *, dry_run: bool, progress: Progress | None) -> ImportReport:
    """Import a workbook, CSV file or folder of CSV files into the home (or only report, with `dry_run`)."""
    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        return await import_spreadsheet(sessionmaker, path, now=clock.now(), tz=config.tz, actor="cli",
                                        dry_run=dry_run, progress=progress)
    finally:
        await db.dispose()


async def export_path(config: Settings, path: Path, *, lang: str) -> ExportReport:
    """Write the home's CRM to a workbook."""
    clock = make_clock(config, None)
    db, sessionmaker = await prepare_store(config, clock)
    try:
        return await export_workbook(sessionmaker, path, lang=lang, tz=config.tz)
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

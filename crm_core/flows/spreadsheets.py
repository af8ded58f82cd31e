"""A business's customer book in and out as a spreadsheet, for whoever asks (chat today; the CLI calls the core).

    check(path)   the dry run: what an import would do, nothing written
    bring_in(path) the import itself (audited by the importer, which commits in batches of its own)
    export(path)  the whole book as one workbook

Only managers and admins move the whole book (`policy.can_move_spreadsheets`). The importer
opens its own units of work, so each use case first ends the message's read transaction
(`end_reads`): on SQLite a read snapshot kept open through an import could not write afterwards,
and nothing may hold a write lock while the file is read. Imports and exports run in a worker
thread with an engine of their own (`crm_core.spreadsheets.worker`): reading a large workbook
is CPU work that would otherwise stall every other chat; `progress` is still called on this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from crm_core.config import Settings
from crm_core.errors import Forbidden
from crm_core.policy import Person, can_move_spreadsheets
from crm_core.uow import StorePhase

if TYPE_CHECKING:  # the importer (and openpyxl) load when a file is moved, not with every chat message
    from crm_core.spreadsheets import ExportReport, ImportReport

# (rows done, rows in all): called as the import goes.
Progress = Callable[[int, int], Awaitable[None] | None]


class SpreadsheetFlow:
    """Import and export the customer book for one caller."""

    def __init__(self, *, tx: StorePhase, settings: Settings, now: datetime) -> None:
        self._tx = tx
        self._settings = settings
        self._now = now

    async def check(self, actor: Person, actor_name: str, path: Path, *, file_name: str,
                    progress: Progress | None = None) -> ImportReport:
        """Return what importing `path` would do; write nothing."""
        return await self._import(actor, actor_name, path, file_name=file_name, dry_run=True, progress=progress)

    async def bring_in(self, actor: Person, actor_name: str, path: Path, *, file_name: str,
                       progress: Progress | None = None) -> ImportReport:
        """Import `path` (re-running one already imported changes nothing)."""
        return await self._import(actor, actor_name, path, file_name=file_name, dry_run=False, progress=progress)

    async def export(self, actor: Person, path: Path, *, lang: str, words: Callable[[str], str]) -> ExportReport:
        """Write the whole book to `path`, headers in `lang`, stored texts as `words` reads them (`export_workbook`)."""
        from crm_core.spreadsheets import export_in_worker

        _require_mover(actor)
        await self._tx.end_reads()
        return await export_in_worker(self._tx.sessionmaker, path, lang=lang, tz=self._settings.tz, words=words)

    async def template(self, actor: Person, path: Path, *, lang: str) -> None:
        """Write the empty workbook with headers, an example row per sheet and how to fill it."""
        from crm_core.spreadsheets import write_template

        _require_mover(actor)
        await asyncio.to_thread(write_template, path, lang=lang)

    async def _import(self, actor: Person, actor_name: str, path: Path, *, file_name: str, dry_run: bool,
                      progress: Progress | None) -> ImportReport:
        from crm_core.spreadsheets import import_in_worker

        _require_mover(actor)
        await self._tx.end_reads()
        return await import_in_worker(self._tx.sessionmaker, path, now=self._now, tz=self._settings.tz,
                                      actor=actor_name, actor_user_id=actor.id, dry_run=dry_run,
                                      progress=progress, file_name=file_name)


def _require_mover(actor: Person) -> None:
    if not can_move_spreadsheets(actor):
        raise Forbidden("only managers and admins import or export the customer book")

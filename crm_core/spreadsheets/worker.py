"""Imports and exports for a caller that serves others meanwhile (the bot): the whole job in a worker thread.

    report = await import_in_worker(sessionmaker, path, now=…, tz=…, actor=…, progress=callback, …)
    exported = await export_in_worker(sessionmaker, path, lang=…, tz=…, words=…)

Reading a workbook (openpyxl, csv) and deciding each row is CPU work between the awaits: on the bot's event
loop it would stall every other chat for as long as the file takes. So the job runs in a thread with an event
loop and a database engine of its own, bound to the same database URL (connections belong to the loop that
opened them, so the caller's pool cannot be shared) and disposed of afterwards. Each batch is still one short
transaction: on SQLite (WAL, BEGIN IMMEDIATE, busy timeout: crm_core.db) the two engines take turns at the
write lock like two processes would, and nothing slow (reading, deciding) happens while a batch holds it.

`progress(done, total)` is called on the caller's loop, in order; it may be a coroutine function. If the caller
stops waiting (cancelled: the bot shuts down), the job stops at its next progress tick, between batches; what
it committed stays, and running the import again carries on from there (keys de-duplicate).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm_core.db import create_engine, create_sessionmaker
from crm_core.spreadsheets.exporter import export_workbook
from crm_core.spreadsheets.importer import Progress, import_spreadsheet
from crm_core.spreadsheets.report import ExportReport, ImportReport

T = TypeVar("T")
Store = async_sessionmaker[AsyncSession]


class JobAbandoned(Exception):
    """The caller stopped waiting for the job: it ends at its next progress tick."""


async def import_in_worker(sessionmaker: Store, path: Path, *, now: datetime, tz: tzinfo, actor: str,
                           actor_user_id: int | None = None, dry_run: bool = False, progress: Progress | None = None,
                           file_name: str | None = None) -> ImportReport:
    """Do what `import_spreadsheet` does, with the same arguments, in a worker thread."""
    relay = _ProgressRelay(asyncio.get_running_loop(), progress)

    def job(store: Store) -> Awaitable[ImportReport]:
        return import_spreadsheet(store, path, now=now, tz=tz, actor=actor, actor_user_id=actor_user_id,
                                  dry_run=dry_run, progress=relay, file_name=file_name)

    try:
        report = await in_worker_thread(sessionmaker, job)
    except asyncio.CancelledError:
        relay.abandon()
        raise
    await relay.delivered()
    return report


async def export_in_worker(sessionmaker: Store, path: Path, *, lang: str, tz: tzinfo,
                           words: Callable[[str], str]) -> ExportReport:
    """Do what `export_workbook` does, with the same arguments, in a worker thread."""
    return await in_worker_thread(sessionmaker,
                                  lambda store: export_workbook(store, path, lang=lang, tz=tz, words=words))


async def in_worker_thread(sessionmaker: Store, job: Callable[[Store], Awaitable[T]]) -> T:
    """Run `job(store)` in a thread with its own event loop, `store` a sessionmaker on the same database."""
    url = _database_url(sessionmaker)
    if url is None:  # an in-memory SQLite database exists only in its own connections: stay with them
        return await job(sessionmaker)

    async def with_own_engine() -> T:
        engine = create_engine(url)
        try:
            return await job(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return await asyncio.to_thread(asyncio.run, with_own_engine())


def _database_url(sessionmaker: Store) -> str | None:
    """Return the URL (password included) of the engine `sessionmaker` is bound to; None for in-memory SQLite."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the sessionmaker is not bound to an async engine")
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


class _ProgressRelay:
    """The job's progress callback (in the worker thread), handing each report to the caller's loop in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, progress: Progress | None) -> None:
        self._loop = loop
        self._progress = progress
        self._abandoned = threading.Event()
        self._last: asyncio.Future[None] | None = None  # the caller's loop only

    def __call__(self, done: int, total: int) -> None:
        if self._abandoned.is_set():
            raise JobAbandoned
        if self._progress is not None:
            try:
                self._loop.call_soon_threadsafe(self._deliver, done, total)
            except RuntimeError as closed:  # the caller's loop is gone: no one is waiting any more
                raise JobAbandoned from closed

    def abandon(self) -> None:
        """Tell the job to stop at its next tick."""
        self._abandoned.set()

    async def delivered(self) -> None:
        """Wait until every report handed over has been taken (an awaitable one, awaited).

        Called once the job has returned: its reports were queued on this loop before its result was, and the loop
        runs callbacks in order, so every `_deliver` has run by now.
        """
        if self._last is not None:
            await self._last

    def _deliver(self, done: int, total: int) -> None:
        assert self._progress is not None
        result = self._progress(done, total)
        if inspect.isawaitable(result):
            self._last = asyncio.ensure_future(self._after(self._last, result))

    @staticmethod
    async def _after(previous: asyncio.Future[None] | None, result: Awaitable[None]) -> None:
        if previous is not None:
            await previous  # awaitable reports finish in the order they were made
        await result

"""An import in a worker thread (as the bot runs it): the same result as on the caller's loop, progress on that loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.spreadsheets import export_in_worker, import_in_worker
from tests.core.spreadsheets.conftest import counts, write_workbook
from tests.core.spreadsheets.test_import import BOOK


def _companies(rows: int) -> dict[str, list[list[object]]]:
    return {"Công ty": [["Tên công ty", "Ngành"], *([f"Công ty {n}", "Thép"] for n in range(rows))]}


async def test_an_import_in_a_worker_writes_the_book_and_reports_progress_in_order_on_the_callers_loop(
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path) -> None:
    caller = threading.get_ident()
    seen: list[tuple[int, int, bool]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total, threading.get_ident() == caller))
        await asyncio.sleep(0)

    path = write_workbook(tmp_path / "cong-ty.xlsx", _companies(2300))
    trial = await import_in_worker(sessionmaker, path, now=clock.now(), tz=clock.now().tzinfo, actor="test",
                                   dry_run=True)
    report = await import_in_worker(sessionmaker, path, now=clock.now(), tz=clock.now().tzinfo, actor="test",
                                    progress=progress)

    assert trial.created == report.created == {"companies": 2300}
    assert (await counts(sessionmaker))["companies"] == 2300
    assert [done for done, _, _ in seen] == [500, 1000, 1500, 2000, 2300]
    assert seen[-1][:2] == (2300, 2300)
    assert all(on_callers_thread for _, _, on_callers_thread in seen)


async def test_an_export_in_a_worker_writes_what_the_store_holds(
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path) -> None:
    await import_in_worker(sessionmaker, write_workbook(tmp_path / "book.xlsx", BOOK), now=clock.now(),
                           tz=clock.now().tzinfo, actor="test")

    exported = await export_in_worker(sessionmaker, tmp_path / "out.xlsx", lang="vi", tz=clock.now().tzinfo,
                                      words=Texts("vi").words)

    assert exported.counts == {"users": 2, "companies": 3, "contacts": 2, "deals": 2, "stage_history": 3,
                              "interactions": 2, "tasks": 2}

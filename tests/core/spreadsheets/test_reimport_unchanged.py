"""Importing an export of the same home changes nothing: the times the chat stored with microseconds read back
from the workbook to the second, and are the same times. A real change of a deal's dates is written and counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Deal
from tests.core.spreadsheets.conftest import Importer, excel_time, write_workbook
from tests.core.spreadsheets.test_import import BOOK

MICROS = timedelta(microseconds=654_321)


async def _deal_times(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tuple[Any, ...]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Deal.title, Deal.created_at, Deal.stage_changed_at, Deal.closed_at))
        return {title: tuple(times) for title, *times in rows}


async def _times_as_the_chat_keeps_them(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Give every deal's times microseconds, as a deal logged or closed in chat has them."""
    async with sessionmaker() as session, session.begin():
        for deal in (await session.execute(select(Deal))).scalars():
            deal.created_at += MICROS
            deal.stage_changed_at += MICROS
            if deal.closed_at is not None:
                deal.closed_at += MICROS


async def _export(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, path: Path) -> Path:
    from crm_core.spreadsheets import export_workbook

    await export_workbook(sessionmaker, path, lang="vi", tz=clock.now().tzinfo, words=Texts("vi").words)
    return path


async def test_importing_an_unchanged_export_updates_nothing_and_reports_nothing(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))
    await _times_as_the_chat_keeps_them(sessionmaker)
    before = await _deal_times(sessionmaker)
    assert before["VNM sữa"][2] is not None  # a won deal: its close time is at stake too

    report = await importer(await _export(sessionmaker, clock, tmp_path / "out.xlsx"))

    assert report.errors == []
    assert report.created == {}
    assert report.updated == {}
    assert report.changes == {}
    assert await _deal_times(sessionmaker) == before


async def test_a_changed_stage_date_in_the_file_is_written_and_counted(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))
    await _times_as_the_chat_keeps_them(sessionmaker)
    path = await _export(sessionmaker, clock, tmp_path / "out.xlsx")
    book = openpyxl.load_workbook(path)
    deals = book["Cơ hội"]
    headers = [c.value for c in deals[1]]
    column = headers.index("Ngày vào giai đoạn") + 1
    for row in range(2, deals.max_row + 1):
        if deals.cell(row, 1).value == "VNM sữa":
            deals.cell(row, column).value = excel_time(2026, 10, 22, 16, 0)
    book.save(path)
    async with sessionmaker() as session, session.begin():  # the file is newer than the CRM's last change
        await session.execute(update(Deal).values(updated_at=datetime(2026, 1, 1, tzinfo=clock.now().tzinfo)))

    report = await importer(path)

    assert report.updated == {"deals": 1}
    assert report.changes == {"deals": {"stage_changed_at": 1, "closed_at": 1}}
    won = (await _deal_times(sessionmaker))["VNM sữa"]
    expected = excel_time(2026, 10, 22, 16, 0).replace(tzinfo=clock.now().tzinfo)
    assert (won[1], won[2]) == (expected, expected)

"""An export is the workbook import reads: importing it into an empty home gives the same data back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import prepare_store
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import User
from crm_core.services import Services
from crm_core.spreadsheets import SHEETS, export_workbook, import_spreadsheet, write_template
from crm_core.uow import UnitOfWork
from tests.core.spreadsheets.conftest import Importer, write_workbook
from tests.core.spreadsheets.test_import import BOOK


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_importing_an_export_into_an_empty_home_gives_the_same_data(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path,
        lang: str) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))
    first = await export_workbook(sessionmaker, tmp_path / "first.xlsx", lang=lang, tz=clock.now().tzinfo,
                                  words=Texts(lang).words)
    # The deals' stage history too: a won deal named with the open stage it was closed from has two moves.
    assert first.counts == {"users": 2, "companies": 3, "contacts": 2, "deals": 2, "stage_history": 3,
                            "interactions": 2, "tasks": 2}

    db, empty_home = await prepare_store(Settings(home=tmp_path / "new-home"), clock)
    try:
        report = await import_spreadsheet(empty_home, tmp_path / "first.xlsx", now=clock.now(),
                                          tz=clock.now().tzinfo, actor="test")
        await export_workbook(empty_home, tmp_path / "second.xlsx", lang=lang, tz=clock.now().tzinfo,
                              words=Texts(lang).words)
    finally:
        await db.dispose()

    assert report.errors == []
    assert sum(report.created.values()) == 16
    assert _cells(tmp_path / "second.xlsx") == _cells(tmp_path / "first.xlsx")


async def _who_is_active(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, bool]:
    async with sessionmaker() as session:
        return dict((await session.execute(select(User.name, User.active))).all())


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_colleague_who_left_stays_inactive_through_an_export_and_an_import(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path,
        lang: str) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.deactivate("Quang")
    await export_workbook(sessionmaker, tmp_path / "out.xlsx", lang=lang, tz=clock.now().tzinfo,
                          words=Texts(lang).words)

    users_sheet = _cells(tmp_path / "out.xlsx")["Nhân viên" if lang == "vi" else "users"]
    assert users_sheet[0][-1] == ("Đang làm" if lang == "vi" else "active")
    assert {row[0]: row[-1] for row in users_sheet[1:]} == (
        {"Lan": "có", "Quang": "không"} if lang == "vi" else {"Lan": "yes", "Quang": "no"})
    again = await importer(tmp_path / "out.xlsx")
    assert again.skipped["users"] == 2  # the same home: nothing to change
    db, empty_home = await prepare_store(Settings(home=tmp_path / "new-home"), clock)
    try:
        await import_spreadsheet(empty_home, tmp_path / "out.xlsx", now=clock.now(), tz=clock.now().tzinfo,
                                 actor="test")
        moved = await _who_is_active(empty_home)
    finally:
        await db.dispose()

    assert moved == {"Lan": True, "Quang": False}


async def test_the_active_column_turns_a_colleague_off_and_on_and_a_blank_leaves_them_as_they_are(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))

    left = await importer(write_workbook(tmp_path / "left.xlsx", {"Nhân viên": [["Tên", "Đang làm"],
                                                                                 ["Quang", "không"], ["Lan", None]]}))
    after_leaving = await _who_is_active(sessionmaker)
    back = await importer(write_workbook(tmp_path / "back.xlsx", {"staff": [["name", "ACTIVE"], ["quang", "x"]]}))

    assert (left.updated["users"], left.skipped["users"]) == (1, 1)
    assert after_leaving == {"Lan": True, "Quang": False}
    assert back.updated["users"] == 1
    assert await _who_is_active(sessionmaker) == {"Lan": True, "Quang": True}


async def test_the_template_has_every_sheet_an_example_and_how_to_fill_it(
        importer: Importer, tmp_path: Path) -> None:
    write_template(tmp_path / "mau.xlsx", lang="vi")

    cells = _cells(tmp_path / "mau.xlsx")
    assert list(cells) == ["Cách điền", "Nhân viên", "Công ty", "Liên hệ", "Cơ hội", "Lịch sử giai đoạn", "Tương tác",
                           "Công việc"]
    assert all(len(rows) == 2 for title, rows in cells.items() if title != "Cách điền")
    left_as_is = await importer(tmp_path / "mau.xlsx", dry_run=True)
    assert {(e.sheet, e.code) for e in left_as_is.errors} == {(sheet, "template_example") for sheet in SHEETS}
    assert left_as_is.created == {}
    # Each example filled in a little differently is a row like any other: every cell of it reads.
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "mau.xlsx")
    for title, column, value in (("Nhân viên", 5, "x"), ("Công ty", 2, "Thép xây dựng"), ("Liên hệ", 3, "Giám đốc"),
                                 ("Cơ hội", 8, 201), ("Lịch sử giai đoạn", 5, "16/11/2026 09:00"),
                                 ("Tương tác", 7, "Gọi lại"), ("Công việc", 7, "chưa")):
        book[title].cell(row=2, column=column, value=value)
    book.save(tmp_path / "filled.xlsx")
    report = await importer(tmp_path / "filled.xlsx", dry_run=True)
    assert report.errors == []
    assert report.unknown_sheets == ["Cách điền"]
    assert report.created == {"users": 1, "companies": 1, "contacts": 1, "deals": 1, "stage_history": 1,
                              "interactions": 1, "tasks": 1}

"""An export is the workbook import reads: importing it into an empty home gives the same data back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import prepare_store
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.spreadsheets import export_workbook, import_spreadsheet, write_template
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
    first = await export_workbook(sessionmaker, tmp_path / "first.xlsx", lang=lang, tz=clock.now().tzinfo)
    assert first.counts == {"users": 2, "companies": 3, "contacts": 2, "deals": 2, "interactions": 2, "tasks": 2}

    db, empty_home = await prepare_store(Settings(home=tmp_path / "new-home"), clock)
    try:
        report = await import_spreadsheet(empty_home, tmp_path / "first.xlsx", now=clock.now(),
                                          tz=clock.now().tzinfo, actor="test")
        await export_workbook(empty_home, tmp_path / "second.xlsx", lang=lang, tz=clock.now().tzinfo)
    finally:
        await db.dispose()

    assert report.errors == []
    assert sum(report.created.values()) == 13
    assert _cells(tmp_path / "second.xlsx") == _cells(tmp_path / "first.xlsx")


async def test_the_template_has_every_sheet_an_example_and_how_to_fill_it(
        importer: Importer, tmp_path: Path) -> None:
    write_template(tmp_path / "mau.xlsx", lang="vi")

    cells = _cells(tmp_path / "mau.xlsx")
    assert list(cells) == ["Cách điền", "Nhân viên", "Công ty", "Liên hệ", "Cơ hội", "Tương tác", "Công việc"]
    assert all(len(rows) == 2 for title, rows in cells.items() if title != "Cách điền")
    report = await importer(tmp_path / "mau.xlsx", dry_run=True)
    assert report.errors == []
    assert report.unknown_sheets == ["Cách điền"]
    assert report.created == {"users": 1, "companies": 1, "contacts": 1, "deals": 1, "interactions": 1, "tasks": 1}

"""A formula is no value: any formula cell is reported by row and column and never stored (the row goes in
without it, or is left out when it is the title). A lost reason belongs to a lost deal only, as in chat."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Deal
from tests.core.spreadsheets.conftest import Importer, write_workbook

HEADERS = ["Tên cơ hội", "Công ty", "Trạng thái", "Lý do thua"]
DDE = "=cmd|' /C calc'!A0"


async def _deals(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Deal]:
    async with sessionmaker() as session:
        return {d.title: d for d in (await session.execute(select(Deal))).scalars()}


async def test_a_formula_in_an_optional_cell_is_reported_and_not_stored(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Cơ hội": [HEADERS, ["HP 200 bộ", "Hòa Phát", "thua", DDE]]})

    report = await importer(path)

    assert [(e.sheet, e.row, e.column, e.code, e.imported) for e in report.errors] == [
        ("deals", 2, "Lý do thua", "formula", True)]
    deal = (await _deals(sessionmaker))["HP 200 bộ"]
    assert (deal.status, deal.lost_reason) == ("lost", None)


async def test_a_formula_title_is_reported_as_a_formula_and_the_row_left_out(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Cơ hội": [HEADERS, ['=HYPERLINK("http://x.test","HP")',
                                                                       "Hòa Phát", None, None]]})

    report = await importer(path)

    assert [(e.row, e.column, e.code, e.imported) for e in report.errors] == [(2, "Tên cơ hội", "formula", False)]
    assert await _deals(sessionmaker) == {}


async def test_a_csv_cell_excel_would_run_as_a_formula_is_reported_and_not_stored(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(f'title,status,lost_reason\nHP 200 bộ,lost,"{DDE}"\n', encoding="utf-8")

    report = await importer(path)

    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "lost_reason", "formula")]
    assert (await _deals(sessionmaker))["HP 200 bộ"].lost_reason is None


async def test_a_lost_reason_on_a_deal_that_is_not_lost_is_reported_and_ignored(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Cơ hội": [
        HEADERS, ["HP 200 bộ", "Hòa Phát", "đang mở", "Giá cao"], ["VNM sữa", "Vinamilk", "thắng", "Giá cao"],
        ["MSN mì", "Masan", "thua", "Giá cao"]]})

    report = await importer(path)

    assert [(e.row, e.column, e.code, e.imported) for e in report.errors] == [
        (2, "Lý do thua", "lost_reason_not_lost", True), (3, "Lý do thua", "lost_reason_not_lost", True)]
    deals = await _deals(sessionmaker)
    assert {title: (d.status, d.lost_reason) for title, d in deals.items()} == {
        "HP 200 bộ": ("open", None), "VNM sữa": ("won", None), "MSN mì": ("lost", "price")}

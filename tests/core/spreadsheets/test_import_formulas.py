"""A formula cell reads as the value Excel saved with it, what its user sees (an amount = quantity × unit price).
One that shows no value (an Excel error such as #REF!, or none saved: a program wrote the file) is reported by row
and column and never stored (the row goes in without it, or is left out when it is the title); so is a CSV cell
starting with "=". A lost reason belongs to a lost deal only, as in chat."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Deal
from tests.core.spreadsheets.conftest import Importer, save_formula_values, write_workbook

HEADERS = ["Tên cơ hội", "Công ty", "Trạng thái", "Lý do thua"]
DDE = "=cmd|' /C calc'!A0"


async def _deals(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Deal]:
    async with sessionmaker() as session:
        return {d.title: d for d in (await session.execute(select(Deal))).scalars()}


async def test_a_formula_reads_as_the_value_excel_saved_with_it(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Cơ hội": [
        ["Tên cơ hội", "Công ty", "Số lượng", "Đơn giá", "Giá trị"],
        ['=B2&" 200 bộ"', "Hòa Phát", 200, 6_000_000, "=C2*D2"],
        ["VNM sữa", "Vinamilk", 1000, 12_000, "=C3*D3"]]})
    save_formula_values(path, 1, {"A2": "Hòa Phát 200 bộ", "E2": 1_200_000_000, "E3": 12_000_000})

    report = await importer(path)

    assert report.errors == []
    deals = await _deals(sessionmaker)
    assert {title: d.amount for title, d in deals.items()} == {
        "Hòa Phát 200 bộ": Decimal("1200000000"), "VNM sữa": Decimal("12000000")}


async def test_a_formula_showing_an_excel_error_or_no_saved_value_is_reported_and_not_stored(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", {"Cơ hội": [
        [*HEADERS, "Số lượng", "Giá trị"],
        ["HP 200 bộ", "Hòa Phát", "thua", DDE, 200, "=E2*X2"],
        ["VNM sữa", "Vinamilk", "đang mở", None, 1000, "=E3/0"],
        ["MSN mì", "Masan", "đang mở", None, 10, "=XLOOKUP(A4,A:A,B:B)"]]})
    save_formula_values(path, 1, {"D2": "#REF!", "F2": "#VALUE!", "F3": "#DIV/0!"})  # F4: none saved

    report = await importer(path)

    assert [(e.row, e.column, e.code, e.imported) for e in report.errors] == [
        (2, "Lý do thua", "formula", True), (2, "Giá trị", "formula", True), (3, "Giá trị", "formula", True),
        (4, "Giá trị", "formula", True)]
    deals = await _deals(sessionmaker)
    assert {title: (d.lost_reason, d.amount) for title, d in deals.items()} == {
        "HP 200 bộ": (None, None), "VNM sữa": (None, None), "MSN mì": (None, None)}


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

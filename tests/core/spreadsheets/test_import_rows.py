"""Rows as people type them: values in either language, bad cells named by sheet, Excel row and column."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import Deal, Interaction, Stage
from tests.core.spreadsheets.conftest import Importer, counts, excel_time, write_workbook

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


async def test_each_bad_cell_is_named_and_the_good_rows_still_go_in(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "bad.xlsx", {"deals": [
        ["Tên cơ hội", "Công ty", "Giá trị", "Giai đoạn", "Phụ trách"],
        ["Tốt", "Hòa Phát", "500tr", "Mới", None],
        [None, "Hòa Phát", "1 tỷ", None, None],
        ["Giá sai", "Hòa Phát", "abc", "Bay lên", "Ai đó"],
    ]}))

    problems = {(e.sheet, e.row, e.column, e.code, e.imported) for e in report.errors}
    assert problems == {("deals", 3, "Tên cơ hội", "required", False),
                        ("deals", 4, "Giá trị", "not_a_number", True),
                        ("deals", 4, "Giai đoạn", "unknown_stage", True),
                        ("deals", 4, "Phụ trách", "unknown_user", True)}
    assert next(e for e in report.errors if e.code == "not_a_number").params == {"value": "abc"}
    assert report.created == {"companies": 1, "deals": 2}
    assert (await counts(sessionmaker))["deals"] == 2


async def test_unknown_columns_are_reported_once_and_ignored(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "extra.xlsx", {"companies": [
        ["name", "Ghi chú nội bộ", "website"], ["A", "x", "a.vn"], ["B", "y", "b.vn"]]}))

    assert [(c.sheet, c.column) for c in report.unknown_columns] == [("companies", "Ghi chú nội bộ"),
                                                                    ("companies", "website")]
    assert report.created == {"companies": 2}


async def test_dates_are_read_as_people_write_them(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    written = ["2026-11-20", "20/11/2026", "20/11/2026 14:30", excel_time(2026, 11, 20, 14, 30), 46346,
               46346.75, "2026-11-20T14:30:00+00:00"]
    await importer(write_workbook(tmp_path / "dates.xlsx", {"interactions": [
        ["occurred_at", "summary"], *([value, f"lần {i}"] for i, value in enumerate(written))]}))

    async with sessionmaker() as session:
        found = dict((await session.execute(select(Interaction.summary, Interaction.occurred_at))).all())
    assert [found[f"lần {i}"].astimezone(HCM) for i in range(len(written))] == [
        datetime(2026, 11, 20, tzinfo=HCM), datetime(2026, 11, 20, tzinfo=HCM),
        datetime(2026, 11, 20, 14, 30, tzinfo=HCM), datetime(2026, 11, 20, 14, 30, tzinfo=HCM),
        datetime(2026, 11, 20, tzinfo=HCM), datetime(2026, 11, 20, 18, 0, tzinfo=HCM),
        datetime(2026, 11, 20, 21, 30, tzinfo=HCM)]


async def test_amounts_stages_and_statuses_are_read_in_either_language(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    rows = [["1.200.000.000", "quote", None], ["1,200,000,000", "Báo giá", None], ["1,2 tỷ", "bao gia", None],
            ["500tr", "Negotiation", None], ["96 triệu", "Đàm phán", None], ["$1,200", None, "won"],
            [1200, "Mới", "Thua"]]
    await importer(write_workbook(tmp_path / "money.xlsx", {"deals": [
        ["title", "amount", "stage", "status"], *([f"D{i}", *row] for i, row in enumerate(rows))]}))

    async with sessionmaker() as session:
        found = {title: (amount, currency, key, status) for title, amount, currency, key, status in (
            await session.execute(select(Deal.title, Deal.amount, Deal.currency, Stage.key, Deal.status)
                                  .join(Stage, Deal.stage_id == Stage.id))).all()}
    assert found == {
        "D0": (Decimal("1200000000"), "VND", "quote", "open"), "D1": (Decimal("1200000000"), "VND", "quote", "open"),
        "D2": (Decimal("1200000000"), "VND", "quote", "open"),
        "D3": (Decimal("500000000"), "VND", "negotiation", "open"),
        "D4": (Decimal("96000000"), "VND", "negotiation", "open"), "D5": (Decimal("1200"), "USD", "won", "won"),
        "D6": (Decimal("1200"), "VND", "lost", "lost")}


async def test_booleans_and_roles_are_read_in_either_language(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "bools.xlsx", {
        "users": [["name", "role"], ["A", "sales"], ["B", "Quản lý"], ["C", "quan tri"], ["D", "boss"]],
        "tasks": [["title", "done"], *([f"T{i}", v] for i, v in enumerate(
            ["yes", "no", "x", "có", "không", 1, 0, "chưa", "maybe"]))]}))

    assert {(e.sheet, e.row, e.code) for e in report.errors} == {("users", 5, "unknown_role"),
                                                                 ("tasks", 10, "not_a_boolean")}


async def test_a_deal_named_by_an_interaction_that_does_not_exist_is_reported(
        importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "ref.xlsx", {"interactions": [
        ["occurred_at", "company", "deal", "summary"], ["20/11/2026", "Hòa Phát", "Không có", "x"]]}))

    assert [(e.row, e.code, e.imported) for e in report.errors] == [(2, "unknown_deal", True)]
    assert report.created == {"companies": 1, "interactions": 1}

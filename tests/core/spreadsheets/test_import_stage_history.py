"""The stage_history sheet: a deal with moves there gets exactly those (not the history its deals row implies),
matched by deal, stage moved to and time to the second; a deal without keeps the implied history; bad rows are
reported; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.models import Deal, DealStageChange, Stage
from tests.core.spreadsheets.conftest import Importer, Sheets, write_workbook

BOOK: Sheets = {
    "Cơ hội": [["Tên cơ hội", "Công ty", "Giai đoạn", "Ngày tạo", "Ngày vào giai đoạn"],
               ["Thép cuộn", "Hòa Phát", "Đàm phán", "01/11/2026 09:00", "18/11/2026 10:00"],
               ["Ống thép", "Hòa Phát", "Báo giá", "02/11/2026 09:00", "10/11/2026 10:00"]],
    "Lịch sử giai đoạn": [["Cơ hội", "Công ty", "Từ giai đoạn", "Sang giai đoạn", "Thời điểm", "Người chuyển"],
                          ["Thép cuộn", "Hòa Phát", None, "Mới", "01/11/2026 09:00", None],
                          ["Thép cuộn", "Hòa Phát", "Mới", "Báo giá", "05/11/2026 14:30", None],
                          ["Thép cuộn", "Hòa Phát", "Báo giá", "Đàm phán", "18/11/2026 10:00", None],
                          ["Thép cuộn", "Hòa Phát", "Báo giá", "Đàm phán", "18/11/2026 10:00", None],  # twice
                          ["Thép cuộn", "Hòa Phát", "Đàm phán", "Chờ duyệt", "19/11/2026 10:00", None],
                          ["Không có", None, None, "Mới", "01/11/2026 09:00", None]],
}


async def _moves(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[str | None, str]]]:
    before, after = aliased(Stage), aliased(Stage)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Deal.title, before.key, after.key).select_from(DealStageChange)
            .join(Deal, DealStageChange.deal_id == Deal.id)
            .outerjoin(before, DealStageChange.from_stage_id == before.id)
            .join(after, DealStageChange.to_stage_id == after.id)
            .order_by(DealStageChange.changed_at, DealStageChange.id))
        moves: dict[str, list[tuple[str | None, str]]] = {}
        for title, from_key, to_key in rows:
            moves.setdefault(title, []).append((from_key, to_key))
        return moves


async def test_a_deal_with_moves_in_the_sheet_gets_exactly_those_and_one_without_its_implied_history(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", BOOK)

    report = await importer(path)
    again = await importer(path)

    assert await _moves(sessionmaker) == {
        "Thép cuộn": [(None, "new"), ("new", "quote"), ("quote", "negotiation")],
        "Ống thép": [(None, "quote")]}
    assert (report.created["stage_history"], report.skipped["stage_history"]) == (3, 1)
    assert {(e.row, e.code) for e in report.errors if e.sheet == "stage_history"} == {
        (6, "unknown_stage"), (7, "unknown_deal")}
    assert again.created == {}
    assert again.skipped["stage_history"] == 4


async def test_a_dry_run_reports_the_moves_and_writes_none(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "book.xlsx", BOOK), dry_run=True)

    assert report.created["stage_history"] == 3
    assert await _moves(sessionmaker) == {}

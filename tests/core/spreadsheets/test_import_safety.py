"""An import is no way around the CRM's rules: who may change staff, what a file may not undo, what it may not
cost (memory, duplicates), on both backends (issue 12 review)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Company, StaffIdentity, User
from crm_core.spreadsheets import SHEETS, ImportReport, SpreadsheetRefused, import_spreadsheet, write_template
from crm_core.textnorm import fold
from tests.conftest import OpenServices
from tests.core.spreadsheets.conftest import Importer, Sheets, counts, write_workbook

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ESCALATION: Sheets = {"users": [["name", "role", "telegram_id"],
                        ["Quang", "admin", None],
                        ["Thảo", "sales", 999999],
                        ["Mallory", "Quản trị", 888888]],
              "companies": [["name"], ["Hòa Phát"]]}


async def _team(open_services: OpenServices) -> dict[str, int]:
    async with open_services() as services:
        thao = await services.users.add(name="Thảo", role="admin", telegram_id=111)
        quang = await services.users.add(name="Quang", role="manager", telegram_id=222)
    return {"Thảo": thao.id, "Quang": quang.id}


async def _staff(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tuple[str, bool, str | None]]:
    async with sessionmaker() as session:
        logins = dict((await session.execute(select(StaffIdentity.user_id, StaffIdentity.external_id))).all())
        return {u.name: (u.role, u.active, logins.get(u.id))
                for u in (await session.execute(select(User))).scalars()}


async def _import(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, path: Path, *,
                  actor_user_id: int | None, dry_run: bool = False) -> ImportReport:
    return await import_spreadsheet(sessionmaker, path, now=clock.now(), tz=HCM, actor="test",
                                    actor_user_id=actor_user_id, dry_run=dry_run)


async def test_a_manager_cannot_change_staff_but_the_other_sheets_go_in(
        sessionmaker: async_sessionmaker[AsyncSession], open_services: OpenServices, clock: FrozenClock,
        tmp_path: Path) -> None:
    team = await _team(open_services)
    before = await _staff(sessionmaker)

    report = await _import(sessionmaker, clock, write_workbook(tmp_path / "escalate.xlsx", ESCALATION),
                           actor_user_id=team["Quang"])

    assert await _staff(sessionmaker) == before
    assert [(e.sheet, e.row, e.code, e.imported) for e in report.errors] == [
        ("users", 2, "staff_admin_only", False), ("users", 3, "staff_admin_only", False),
        ("users", 4, "staff_admin_only", False)]
    assert report.created == {"companies": 1}


async def test_an_admin_imports_staff_but_never_repoints_a_login_nor_drops_the_last_admin(
        sessionmaker: async_sessionmaker[AsyncSession], open_services: OpenServices, clock: FrozenClock,
        tmp_path: Path) -> None:
    team = await _team(open_services)

    path = write_workbook(tmp_path / "team.xlsx", {"users": [["name", "role", "telegram_id"],
                                                               ["Thảo", "sales", 999999],
                                                               ["Quang", "Quản lý", 222],
                                                               ["Mai", "Quản trị", 888888]]})

    report = await _import(sessionmaker, clock, path, actor_user_id=team["Thảo"])

    staff = await _staff(sessionmaker)
    assert staff["Thảo"] == ("admin", True, "111")  # neither demoted (the last admin then) nor re-pointed
    assert staff["Quang"] == ("manager", True, "222")
    assert staff["Mai"] == ("admin", True, "888888")
    assert {(e.row, e.column, e.code) for e in report.errors} == {
        (2, "telegram_id", "telegram_change_refused"), (2, "role", "last_admin")}


async def test_the_last_admin_is_not_deactivated_by_a_file(
        sessionmaker: async_sessionmaker[AsyncSession], open_services: OpenServices, clock: FrozenClock,
        tmp_path: Path) -> None:
    team = await _team(open_services)
    path = write_workbook(tmp_path / "left.xlsx", {"users": [["name", "active"], ["Thảo", "không"]]})

    report = await _import(sessionmaker, clock, path, actor_user_id=team["Thảo"])

    assert (await _staff(sessionmaker))["Thảo"] == ("admin", True, "111")
    assert [(e.column, e.code) for e in report.errors] == [("active", "last_admin")]


async def test_the_templates_example_rows_create_nothing(
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path) -> None:
    for lang in ("vi", "en"):
        template = tmp_path / f"template-{lang}.xlsx"
        write_template(template, lang=lang)

        report = await _import(sessionmaker, clock, template, actor_user_id=None)

        assert report.changed == 0, lang
        assert {e.code for e in report.errors} == {"template_example"}
        assert len(report.errors) == len(SHEETS)  # one example row per sheet
    assert set((await counts(sessionmaker)).values()) == {0}


def _workbook_with_a_huge_cell(path: Path, text_bytes: int, *, lying: bool) -> Path:
    """A workbook whose one cell unzips to `text_bytes` of text (`lying`: the archive claims 1,000 bytes)."""
    import struct
    import zipfile

    real = write_workbook(path.with_name(f"real-{path.name}"), {"companies": [["name"], ["placeholder"]]})
    with zipfile.ZipFile(real) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    head, _, tail = parts.pop(sheet).partition(b"<sheetData>")
    rows = (b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2">'
            b'<c r="A2" t="inlineStr"><is><t>' + b"A" * text_bytes + b"</t></is></c></row></sheetData>")
    tail = tail.partition(b"</sheetData>")[2]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
        archive.writestr(sheet, head + rows + tail)
    if not lying:
        return path
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # the central directory's uncompressed size
    local = data.rfind(b"PK\x03\x04", 0, central)
    struct.pack_into("<I", data, local + 22, 1000)  # the local header's
    path.write_bytes(bytes(data))
    return path


async def test_a_small_workbook_unzipping_to_a_huge_cell_is_refused_without_holding_it(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    import tracemalloc

    for lying in (False, True):
        bomb = _workbook_with_a_huge_cell(tmp_path / f"bomb-{lying}.xlsx", 64 * 1024 * 1024, lying=lying)
        tracemalloc.start()
        try:
            with pytest.raises(SpreadsheetRefused) as refused:
                await importer(bomb)
            peak_mb = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
        finally:
            tracemalloc.stop()

        assert refused.value.reason == "corrupt"
        assert peak_mb < 20, f"{peak_mb:.0f} MB held while refusing it"
    assert set((await counts(sessionmaker)).values()) == {0}


async def test_a_cell_as_long_as_excel_allows_still_goes_in(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "long.xlsx", {"interactions": [
        ["Thời gian", "Nội dung"], ["20/11/2026 14:30", "Ghi chú dài. " * 2500]]}))

    assert report.created == {"interactions": 1}


def _companies_file(path: Path, count: int) -> Path:
    return write_workbook(path, {"companies": [["name"], *([f"Công ty {i}"] for i in range(1, count + 1))]})


async def test_a_second_import_while_one_runs_is_refused_and_nothing_is_doubled(
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path) -> None:
    path = _companies_file(tmp_path / "companies.xlsx", 600)
    halfway, second_done = asyncio.Event(), asyncio.Event()

    async def first_progress(done: int, total: int) -> None:
        if done < total:
            halfway.set()
            await second_done.wait()  # the first import is mid-way while the second one starts

    async def second() -> SpreadsheetRefused:
        await halfway.wait()
        try:
            with pytest.raises(SpreadsheetRefused) as refused:
                await _import(sessionmaker, clock, path, actor_user_id=None)
            return refused.value
        finally:
            second_done.set()

    first = import_spreadsheet(sessionmaker, path, now=clock.now(), tz=HCM, actor="a", progress=first_progress)
    report, refusal = await asyncio.gather(first, second())

    assert refusal.reason == "busy"
    assert report.created == {"companies": 600}
    assert (await counts(sessionmaker))["companies"] == 600
    again = await _import(sessionmaker, clock, path, actor_user_id=None)  # the lock was let go
    assert again.created == {}


async def test_a_company_a_colleague_saves_during_the_import_is_matched_not_doubled(
        sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path) -> None:
    path = _companies_file(tmp_path / "companies.xlsx", 600)

    async def colleague_saves_one(done: int, total: int) -> None:
        if done == 500:  # read, not yet written: the import's batch is still to come
            async with sessionmaker() as session, session.begin():
                session.add(Company(name="Công ty 600", name_folded=fold("Công ty 600"), created_at=clock.now()))

    report = await import_spreadsheet(sessionmaker, path, now=clock.now(), tz=HCM, actor="a",
                                      progress=colleague_saves_one)

    assert not report.errors
    assert (await counts(sessionmaker))["companies"] == 600


async def test_an_older_export_never_undoes_newer_work_and_says_what_it_kept(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], open_services: OpenServices,
        tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from crm_core.models import Deal, Stage
    from crm_core.spreadsheets import export_workbook

    await _team(open_services)
    await importer(write_workbook(tmp_path / "book.xlsx", {"deals": [
        ["Tên cơ hội", "Công ty", "Giai đoạn", "Phụ trách", "Ngày vào giai đoạn"],
        ["HP 200 bộ", "Hòa Phát", "Báo giá", "Quang", "15/11/2026 14:30"]]}))
    old_export = tmp_path / "old-export.xlsx"
    await export_workbook(sessionmaker, old_export, lang="vi", tz=HCM, words=Texts("vi").words)
    later = datetime.now(UTC) + timedelta(hours=1)  # in chat, after the export was saved
    async with sessionmaker() as session, session.begin():
        negotiation = (await session.execute(select(Stage.id).where(Stage.key == "negotiation"))).scalar_one()
        thao = (await session.execute(select(User.id).where(User.name == "Thảo"))).scalar_one()
        await session.execute(update(Deal).values(stage_id=negotiation, stage_changed_at=later, updated_at=later,
                                                  owner_id=thao))

    report = await importer(old_export)

    async with sessionmaker() as session:
        deal = (await session.execute(select(Deal))).scalar_one()
    assert (deal.stage_id, deal.owner_id) == (negotiation, thao)
    assert {(e.column, e.code, e.imported, e.params["value"], e.params["kept"]) for e in report.errors} == {
        ("Giai đoạn", "kept_newer", True, "quote", "negotiation"), ("Phụ trách", "kept_newer", True, "Quang", "Thảo")}
    assert report.updated == {}


async def test_the_report_counts_the_columns_each_update_changed(importer: Importer, tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "a.xlsx", {"deals": [
        ["Tên cơ hội", "Công ty", "Giai đoạn", "Giá trị"], ["A", "X", "Mới", "1 tỷ"], ["B", "X", "Mới", "2 tỷ"]]}))

    report = await importer(write_workbook(tmp_path / "b.xlsx", {"deals": [
        ["Tên cơ hội", "Công ty", "Giai đoạn", "Giá trị"], ["A", "X", "Báo giá", "1 tỷ"],
        ["B", "X", "Báo giá", "3 tỷ"]]}))

    assert report.updated == {"deals": 2}
    assert report.changes == {"deals": {"stage": 2, "amount": 1}}

"""Cells a customer book really holds, read so that an import is repeatable and loses nothing unseen (issue 12
review): several phones in one cell, minus signs, relative or impossible dates, huge CSV cells, case-only
differences, and the CRM's own export with times to the microsecond."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Company, Interaction, Task
from crm_core.spreadsheets import export_workbook
from crm_core.textnorm import fold
from tests.core.spreadsheets.conftest import Importer, counts, write_workbook
from tests.core.spreadsheets.test_import_safety import HCM


async def test_reimporting_the_export_matches_times_logged_to_the_microsecond(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        tmp_path: Path) -> None:
    logged = clock.now().replace(microsecond=654_321)
    async with sessionmaker() as session, session.begin():
        company = Company(name="Hòa Phát", name_folded=fold("Hòa Phát"), created_at=logged)
        session.add(company)
        await session.flush()
        session.add(Interaction(kind="call", occurred_at=logged, company_id=company.id, summary="Gọi anh Minh  ",
                                created_at=logged, source="chat"))
        session.add(Task(title="Gửi báo giá", due_at=logged + timedelta(days=1, microseconds=7), company_id=company.id,
                         created_at=logged))
    export = tmp_path / "export.xlsx"
    await export_workbook(sessionmaker, export, lang="vi", tz=HCM, words=Texts("vi").words)

    report = await importer(export)

    assert report.created == {}
    assert (await counts(sessionmaker))["interactions"] == 1
    assert (await counts(sessionmaker))["tasks"] == 1


async def test_several_phones_in_one_cell_keep_the_first_and_name_the_others(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    book = write_workbook(tmp_path / "merged.xlsx", {"Khách hàng": [
        ["Tên công ty", "SĐT", None, "Ngành"], ["Hòa Bình", "0912 345 678", "028 3822 1234", "Xây dựng"]]})
    # The header "SĐT" merged over two columns, as Excel shows it.
    import openpyxl

    workbook = openpyxl.load_workbook(book)
    workbook.active.merge_cells("B1:C1")
    workbook.save(book)

    report = await importer(book)

    assert report.created == {"companies": 1}
    assert [(e.column, e.code, e.imported, e.params["value"]) for e in report.errors] == [
        ("SĐT", "extra_phones", True, "+842838221234")]
    async with sessionmaker() as session:
        assert (await session.get(Company, 1)).phone == "+84912345678"  # type: ignore[union-attr]


async def test_a_negative_amount_is_an_error_never_a_positive_one(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "neg.xlsx", {"deals": [
        ["Tên cơ hội", "Công ty", "Giá trị"], ["Âm chữ", "A", "-1,2 tỷ"], ["Âm số", "A", -500],
        ["Dương", "A", "1,2 tỷ"]]}))

    assert [(e.row, e.code) for e in report.errors] == [(2, "negative_amount"), (3, "negative_amount")]


async def test_relative_and_impossible_dates_are_row_errors(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "dates.xlsx", {"interactions": [
        ["Thời gian", "Nội dung"], ["hôm qua", "a"], ["3 ngày trước", "b"], ["31/12/9999 23:59", "c"],
        ["1/1/1900", "d"], ["20 tháng 11 năm 2026", "e"]]}))

    assert [(e.row, e.code) for e in report.errors] == [
        (2, "relative_date"), (3, "relative_date"), (4, "date_out_of_range"), (5, "date_out_of_range")]
    assert report.created == {"interactions": 1}


async def test_rows_differing_only_in_case_are_not_updated_on_every_run(importer: Importer, tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "dups.xlsx", {"companies": [
        ["Tên công ty", "Ngành"], ["Hòa Bình", "Xây dựng"], ["  hoa binh", "xây dựng"]]})
    await importer(path)

    again = await importer(path)

    assert again.updated == {}
    assert again.skipped == {"companies": 2}


async def test_a_csv_cell_over_the_limit_is_a_row_error_not_a_crash(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("name,industry,address\nCông ty Dài,IT," + "y" * 1_200_000 + "\nNgắn,IT,Hà Nội\n",
                    encoding="utf-8")

    report = await importer(path)

    assert [(e.row, e.column, e.code, e.imported) for e in report.errors] == [
        (2, "address", "cell_too_big", True)]
    assert report.created == {"companies": 2}


async def test_a_customers_tab_of_people_is_read_as_contacts_and_of_firms_as_companies(
        importer: Importer, tmp_path: Path) -> None:
    people = await importer(write_workbook(tmp_path / "khach-le.xlsx", {"Khách hàng": [
        ["STT", "Họ tên", "SĐT", "Email", "Công ty", "Ghi chú"],
        [1, "Nguyễn Thị Hoa", "0912 345 678", "hoa@gmail.com", "Cà phê Hoa", "khách quen"],
        [2, "Trần Văn Nam", "+84 903 111 222", None, None, None]]}))
    firms = await importer(write_workbook(tmp_path / "khach-si.xlsx", {"Khách hàng": [
        ["Tên công ty", "Ngành nghề", "SĐT", "MST"], ["Hòa Bình", "Xây dựng", "0283 822 1234", "0312345678"]]}))

    assert people.errors == []
    assert people.created == {"contacts": 2, "companies": 1}  # a person without a company is a contact too
    assert firms.created == {"companies": 1}

"""Files as offices keep them (messy workbooks, CSV with a BOM and semicolons, a folder of CSVs), and the files
refused as a whole: one clear reason, nothing written."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import SpreadsheetRefused
from crm_core.models import Company, Contact, Deal
from crm_core.spreadsheets import MAX_BYTES
from tests.core.spreadsheets.conftest import FIXTURES, Importer, counts, write_workbook

EMPTY = {"users": 0, "companies": 0, "contacts": 0, "deals": 0, "interactions": 0, "tasks": 0}


async def test_a_messy_workbook_is_read_as_its_user_sees_it(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    report = await importer(FIXTURES / "messy.xlsx")

    assert report.errors == []
    assert report.created == {"companies": 2, "deals": 2}
    async with sessionmaker() as session:
        companies = {c.name: c for c in (await session.execute(select(Company))).scalars()}
        deals = {d.title: d for d in (await session.execute(select(Deal))).scalars()}
    assert set(companies) == {"Hòa Phát", "Vinamilk"}  # trailing spaces gone, the title banner no company
    assert companies["Hòa Phát"].address == "39 Nguyễn Đình Chiểu, Hà Nội"  # the header merged over two columns
    assert (companies["Hòa Phát"].phone, companies["Hòa Phát"].tax_code) == ("+84243999888", "0100123456")
    assert deals["Thép cuộn"].amount == Decimal("1200000000")  # the formula's saved value (quantity × unit price)
    assert deals["Sữa hộp"].amount == Decimal("12000000")
    assert deals["Thép cuộn"].quantity == 200
    assert deals["Sữa hộp"].company_id == companies["Vinamilk"].id


async def test_a_csv_with_a_bom_and_semicolons_is_read(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    report = await importer(FIXTURES / "lien-he.csv")

    assert report.errors == []
    assert report.created == {"companies": 3, "contacts": 3}
    async with sessionmaker() as session:
        hoa = (await session.execute(select(Contact).where(Contact.name == "Lê Hoa"))).scalar_one()
        company = await session.get(Company, hoa.company_id)
    assert company is not None
    assert company.name == "Công ty A; B"


async def test_a_comma_csv_without_a_bom_in_a_folder_with_others_is_read(
        importer: Importer, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "companies.csv").write_text("name,industry\nHòa Phát,Thép\n", encoding="utf-8")
    shutil.copy(FIXTURES / "lien-he.csv", folder / "contacts.csv")
    (folder / "ghi-chu.txt").write_text("một ghi chú\n", encoding="utf-8")

    report = await importer(folder)

    assert report.created == {"companies": 3, "contacts": 3}
    assert report.unknown_sheets == ["ghi-chu.txt"]


async def test_rows_of_a_csv_are_numbered_as_excel_shows_them(importer: Importer, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text('title;amount\n"Hai\ndòng";100\n;\nSai;abc\n', encoding="utf-8")

    report = await importer(path)

    assert [(e.row, e.code) for e in report.errors] == [(4, "not_a_number")]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old_excel"),
    ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\0" * 600,
     "encrypted"),
    ("broken.xlsx", b"PK\x03\x04 this is not really a zip", "corrupt"),
    ("notes.pdf", b"%PDF-1.4", "unsupported"),
    ("nothing.csv", b"", "empty"),
])
async def test_a_file_that_cannot_be_imported_is_refused_with_its_reason(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, name: str,
        content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(SpreadsheetRefused) as refused:
        await importer(path)

    assert refused.value.reason == reason
    assert await counts(sessionmaker) == EMPTY


async def test_a_file_over_20_mb_is_refused(importer: Importer, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)

    with pytest.raises(SpreadsheetRefused) as refused:
        await importer(path)

    assert refused.value.reason == "too_large"


async def test_an_empty_workbook_and_one_with_only_headers_are_refused(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    headers_only = write_workbook(tmp_path / "headers.xlsx", {"companies": [["name", "phone"]],
                                                             "deals": [["title", "amount"], [None, None]]})

    with pytest.raises(SpreadsheetRefused) as nothing:
        await importer(empty)
    with pytest.raises(SpreadsheetRefused) as no_rows:
        await importer(headers_only)

    assert (nothing.value.reason, no_rows.value.reason) == ("empty", "headers_only")
    assert await counts(sessionmaker) == EMPTY


async def test_a_sheet_named_like_none_is_known_by_its_headers(importer: Importer, tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "sheet1.xlsx", {"Sheet1": [
        ["Họ tên", "Công ty", "SĐT"], ["Minh", "Hòa Phát", "0912345678"]]}))

    assert report.created == {"companies": 1, "contacts": 1}


async def test_a_deals_total_headed_thanh_tien_is_its_amount(
        importer: Importer, tmp_path: Path, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    # Vietnamese order sheets name a line's total "Thành tiền" (often a formula: quantity × unit price).
    report = await importer(write_workbook(tmp_path / "co-hoi.xlsx", {"Cơ hội": [
        ["Tên cơ hội", "Công ty", "Thành tiền"], ["200 bộ AP-SET02", "Hòa Phát", 718200000]]}))

    assert report.errors == []
    async with sessionmaker() as session:
        assert (await session.scalars(select(Deal.amount))).all() == [Decimal("718200000")]

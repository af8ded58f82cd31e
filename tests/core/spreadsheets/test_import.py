"""Importing a customer book: what goes in, what matches what is there, what a second run does, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import AuditEntry, Company, Contact, Deal, DealStageChange, Interaction, Stage, Task, User
from tests.core.spreadsheets.conftest import Importer, counts, excel_time, write_workbook

HCM = ZoneInfo("Asia/Ho_Chi_Minh")

BOOK = {
    "Nhân viên": [["Tên", "Vai trò", "Telegram ID", "Ngôn ngữ"],
                  ["Lan", "Kinh doanh", 1001, "vi"],
                  ["Quang", "Quản lý", None, "tiếng Anh"]],
    "Công ty": [["Tên công ty", "Ngành", "SĐT", "Mã số thuế", "Phụ trách"],
                ["Hòa Phát", "Thép", "0243 999 888", "0100 1234", "lan"],
                ["Vinamilk", "Sữa", None, None, None]],
    "Liên hệ": [["Họ tên", "Công ty", "Chức vụ", "SĐT", "Email"],
                ["Nguyễn Văn Minh", "hoa phat", "Trưởng phòng", "0912 345 678", "Minh@HP.vn"],
                ["Trần Thu", "Masan", None, "+84 987 654 321", None]],
    "Cơ hội": [["Tên cơ hội", "Công ty", "Người liên hệ", "Phụ trách", "Giai đoạn", "Giá trị", "Trạng thái",
                "Ngày tạo", "Ngày vào giai đoạn"],
               ["HP 200 bộ", "Hòa Phát", "Nguyễn Văn Minh", "Lan", "Báo giá", "1,2 tỷ", None, "01/11/2026",
                "15/11/2026 14:30"],
               ["VNM sữa", "Vinamilk", None, "Quang", "negotiation", "$1,200", "thắng", "2026-10-01",
                excel_time(2026, 10, 20, 9, 0)]],
    "Tương tác": [["Thời gian", "Loại", "Người liên hệ", "Công ty", "Cơ hội", "Phụ trách", "Nội dung"],
                  [excel_time(2026, 11, 20, 14, 30), "gọi", "Nguyễn Văn Minh", "Hòa Phát", "HP 200 bộ", "Lan",
                   "Anh Minh cần báo giá"],
                  ["21/11/2026 09:00", "Gặp mặt", "Trần Thu", None, None, "Lan", "Gặp ở văn phòng"]],
    "Công việc": [["Việc", "Hạn", "Phụ trách", "Cơ hội", "Người liên hệ", "Xong"],
                  ["Gửi báo giá", "27/11/2026 09:00", "Lan", "HP 200 bộ", "Nguyễn Văn Minh", "không"],
                  ["Gọi lại chị Thu", "2026-11-10", "Lan", None, "Trần Thu", "x"]],
}


async def _one(sessionmaker: async_sessionmaker[AsyncSession], statement):  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return (await session.execute(statement)).scalar_one()


async def test_a_vietnamese_workbook_creates_every_record_it_names(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "khach-hang.xlsx", BOOK))

    assert report.errors == []
    # Masan is named only by a contact: it is created too.
    assert report.created == {"users": 2, "companies": 3, "contacts": 2, "deals": 2, "interactions": 2, "tasks": 2}
    assert await counts(sessionmaker) == {"users": 2, "companies": 3, "contacts": 2, "deals": 2, "interactions": 2,
                                          "tasks": 2}
    minh = await _one(sessionmaker, select(Contact).where(Contact.name == "Nguyễn Văn Minh"))
    assert (minh.phone, minh.email, minh.source) == ("+84912345678", "minh@hp.vn", "import:khach-hang.xlsx")
    quang = await _one(sessionmaker, select(User).where(User.name == "Quang"))
    assert (quang.role, quang.language) == ("manager", "en")


async def test_a_deal_keeps_its_history_as_the_file_says(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))

    quote = await _one(sessionmaker, select(Deal).where(Deal.title == "HP 200 bộ"))
    assert (quote.amount, quote.currency) == (Decimal("1200000000"), "VND")
    assert quote.created_at == datetime(2026, 11, 1, tzinfo=HCM)
    assert quote.stage_changed_at == datetime(2026, 11, 15, 14, 30, tzinfo=HCM)
    assert await _one(sessionmaker, select(Stage.key).where(Stage.id == quote.stage_id)) == "quote"
    won = await _one(sessionmaker, select(Deal).where(Deal.title == "VNM sữa"))
    assert (won.status, won.amount, won.currency) == ("won", Decimal("1200"), "USD")
    assert won.closed_at == won.stage_changed_at == datetime(2026, 10, 20, 9, 0, tzinfo=HCM)
    change = await _one(sessionmaker, select(DealStageChange).where(DealStageChange.deal_id == won.id,
                                                                    DealStageChange.to_stage_id == won.stage_id))
    assert change.changed_at == won.closed_at
    call = await _one(sessionmaker, select(Interaction).where(Interaction.kind == "call"))
    assert call.occurred_at == datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
    assert call.deal_id == quote.id


async def test_importing_the_same_file_twice_creates_nothing_new(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", BOOK)
    await importer(path)
    before = await counts(sessionmaker)

    again = await importer(path)

    assert again.created == {}
    assert again.updated == {}
    assert again.skipped == {"users": 2, "companies": 2, "contacts": 2, "deals": 2, "interactions": 2, "tasks": 2}
    assert await counts(sessionmaker) == before


async def test_a_matching_row_updates_only_the_fields_it_fills(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "first.xlsx", BOOK))

    report = await importer(write_workbook(tmp_path / "second.xlsx", {
        "companies": [["name", "industry", "phone", "address"], ["HÒA PHÁT ", None, None, "Hà Nội"]]}))

    assert report.updated == {"companies": 1}
    company = await _one(sessionmaker, select(Company).where(Company.name == "Hòa Phát"))
    assert (company.industry, company.address, company.tax_code) == ("Thép", "Hà Nội", "0100 1234")
    assert company.source == "import:first.xlsx"


async def test_one_phone_number_in_any_form_is_one_contact(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "phones.xlsx", {"contacts": [
        ["name", "phone", "email"],
        ["Minh", "0912 345 678", None],
        ["Minh Nguyễn", "+84 912345678", "minh@hp.vn"],
        ["Anh Minh", "84912345678", None],
        ["Thu", None, "THU@hp.vn"],
        ["Thu Trần", None, "thu@HP.vn"],
    ]}))

    assert report.created == {"contacts": 2}
    assert report.updated == {"contacts": 1}  # the e-mail the second row adds
    assert report.skipped == {"contacts": 2}


async def test_a_contact_is_known_by_name_within_its_company(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "names.xlsx", {"contacts": [
        ["name", "company", "title"],
        ["Minh", "Hòa Phát", None],
        ["minh", "hoa phat", "Giám đốc"],
        ["Minh", "Vinamilk", None],
    ]}))

    assert report.created == {"companies": 2, "contacts": 2}
    assert report.updated == {"contacts": 1}


async def test_interactions_and_tasks_match_by_their_keys(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))

    report = await importer(write_workbook(tmp_path / "more.xlsx", {
        "interactions": [["occurred_at", "kind", "contact", "company", "summary"],
                         ["20/11/2026 14:30", "call", "nguyen van minh", "Hoa Phat", "Anh Minh cần báo giá"],
                         ["20/11/2026 14:30", "email", "nguyen van minh", "Hoa Phat", "Anh Minh cần báo giá"]],
        "tasks": [["title", "due", "owner", "done"],
                  ["gửi báo giá", excel_time(2026, 11, 27, 9, 0), "LAN", "có"],
                  ["Gửi báo giá", excel_time(2026, 11, 28, 9, 0), "Lan", None]]}))

    assert report.created == {"interactions": 1, "tasks": 1}
    assert report.updated == {"tasks": 1}  # marked done
    assert report.skipped == {"interactions": 1}
    done = await _one(sessionmaker, select(Task).where(Task.due_at == datetime(2026, 11, 27, 9, 0, tzinfo=HCM)))
    assert done.done_at is not None


async def test_an_imported_task_already_due_is_not_reminded(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))

    past = await _one(sessionmaker, select(Task).where(Task.title == "Gọi lại chị Thu"))
    future = await _one(sessionmaker, select(Task).where(Task.title == "Gửi báo giá"))
    assert past.reminded_at is not None
    assert future.reminded_at is None


async def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_does(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    book = dict(BOOK)
    book["Cơ hội"] = [*BOOK["Cơ hội"], ["Lỗi", "Hòa Phát", None, "Nobody", "Không có", "abc", None, "hôm nay", None]]
    path = write_workbook(tmp_path / "book.xlsx", book)
    before = await counts(sessionmaker)

    dry = await importer(path, dry_run=True)

    assert await counts(sessionmaker) == before
    real = await importer(path)
    assert dry.model_dump(exclude={"dry_run", "seconds"}) == real.model_dump(exclude={"dry_run", "seconds"})


async def test_the_import_is_one_audit_entry_with_the_counts(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK), dry_run=True)
    await importer(write_workbook(tmp_path / "book.xlsx", BOOK))

    async with sessionmaker() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "spreadsheet.import"))).scalars()
        (entry,) = list(entries)
    assert entry.actor_label == "test"
    assert entry.details["file"] == "book.xlsx"
    assert entry.details["created"]["deals"] == 2


async def test_expected_close_and_quantity_are_read(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await importer(write_workbook(tmp_path / "d.xlsx", {"deals": [
        ["title", "company", "amount", "currency", "quantity", "expected_close"],
        ["Thép", "Hòa Phát", 1_200_000_000, None, "200", "20/12/2026"]]}))

    deal = await _one(sessionmaker, select(Deal).where(Deal.title == "Thép"))
    assert (deal.amount, deal.currency, deal.quantity, deal.expected_close) == (
        Decimal("1200000000"), "VND", 200, date(2026, 12, 20))

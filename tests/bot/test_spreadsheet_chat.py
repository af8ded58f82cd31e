"""Moving in from Excel by chat: a manager's file is checked, then imported on [Import]; /export sends the book back.

The engine is the real one over SQLite and PostgreSQL; files come through the console's channel IO (a
document's id is its path), which is also what prints progress edits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.console.adapter import ConsoleIO
from bot.core.callbacks import pack
from bot.core.channel import MAX_DOWNLOAD_BYTES
from bot.core.engine import Engine
from bot.core.messages import Attachment
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import AuditEntry, Company, Contact
from crm_core.services import Services
from crm_core.spreadsheets.reading import SheetData
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COMPANIES = [("Hòa Phát", "Thép"), ("Vinamilk", "Sữa"), ("Thế Giới Di Động", "Bán lẻ")]
SAFETY_NET_S = 60
CONTACTS = [("Nguyễn Văn Minh", "Hòa Phát", "0912 345 678"), ("Trần Thị Lan", "Vinamilk", "+84 903 111 222")]


def write_book(path: Path, *, bad_phone: bool = False) -> Path:
    """A small customer book: companies and contacts with Vietnamese headers."""
    book = openpyxl.Workbook()
    companies = book.active
    assert companies is not None
    companies.title = "companies"
    companies.append(["Tên công ty", "Ngành"])
    for row in COMPANIES:
        companies.append(list(row))
    contacts = book.create_sheet("contacts")
    contacts.append(["Họ tên", "Công ty", "SĐT"])
    for name, company, phone in CONTACTS:
        contacts.append([name, company, "abc" if bad_phone else phone])
    book.save(path)
    return path


def write_long_book(path: Path, rows: int) -> Path:
    """A companies sheet of `rows` generated rows (openpyxl's streaming writer)."""
    book = openpyxl.Workbook(write_only=True)
    companies = book.create_sheet("companies")
    companies.append(["Tên công ty", "Ngành", "SĐT"])
    for number in range(1, rows + 1):
        companies.append([f"Công ty số {number}", "Thép", f"09{number:08d}"])
    book.save(path)
    return path


def document(path: Path, *, name: str | None = None, size: int | None = None,
             mime: str | None = XLSX) -> Attachment:
    return Attachment("document", file_id=str(path), file_name=name or path.name,
                      size=path.stat().st_size if size is None else size, mime_type=mime)


class Screen:
    """What the console channel printed for live edits."""

    def __init__(self) -> None:
        self.lines: list[str] = []


@pytest_asyncio.fixture
async def sheet_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                       tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine whose home is this test's: Lan (sales), Quang (manager), Thảo (admin)."""
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        await services.pipelines.ensure_default()
        for name, role, telegram_id in (("Lan", "sales", 1001), ("Quang", "manager", 2001), ("Thảo", "admin", 3001)):
            await services.users.add(name=name, role=role, telegram_id=telegram_id)
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(home=tmp_path / "home"), router=ROUTER,
                 render_reminder=reminder_reply)


@pytest.fixture
def screen() -> Screen:
    return Screen()


def chat(engine: Engine, user_id: str, screen: Screen) -> ChatDriver:
    return ChatDriver(engine, user_id, io=ConsoleIO(screen.lines.append))


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_managers_spreadsheet_is_checked_first_and_nothing_is_written(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)

    [report] = await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))

    assert report.text.startswith(VI("import_chat.checked", file="khach-hang.xlsx"))
    assert VI("import_chat.confirm") in report.text
    assert [b.label for b in quang.buttons] == [VI("import_chat.btn_import"), VI("import_chat.btn_cancel")]
    assert await count(sessionmaker, Company) == 0


async def test_import_shows_progress_then_the_report_and_writes_the_book_once(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))

    [report] = await quang.press(VI("import_chat.btn_import"))

    assert report.text.startswith(VI("import_chat.imported", file="khach-hang.xlsx"))
    assert not report.edit  # a new message: the progress message above stays as the record of the run
    assert screen.lines[0] == f"bot ✎: {VI('import_chat.starting', file='khach-hang.xlsx')}"
    assert screen.lines[-1] == f"bot ✎: {VI('import_chat.progress_done', file='khach-hang.xlsx')}"
    assert (await count(sessionmaker, Company), await count(sessionmaker, Contact)) == (3, 2)
    async with sessionmaker() as session:
        audit = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "spreadsheet.import")))
    assert [entry.actor_label for entry in audit] == ["Quang"]


async def test_a_second_tap_on_import_shows_the_same_import_and_imports_nothing_again(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))
    import_button = quang.buttons[0]
    await quang.tap(import_button.data)

    [again] = await quang.tap(import_button.data)

    assert again.text.startswith(VI("import_chat.already_imported"))
    assert await count(sessionmaker, Company) == 3


async def test_cancel_drops_the_file_and_its_import_button_goes_stale(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))
    import_button = quang.buttons[0]

    [cancelled] = await quang.press(VI("import_chat.btn_cancel"))
    [stale] = await quang.tap(import_button.data)

    assert cancelled.text == VI("import_chat.cancelled", file="khach-hang.xlsx")
    assert cancelled.edit
    assert stale.text == VI("import_chat.stale")
    assert await count(sessionmaker, Company) == 0
    assert list((tmp_path / "home" / "uploads").iterdir()) == []


async def test_row_errors_are_listed_with_sheet_row_and_column_and_good_rows_still_count(
        sheet_engine: Engine, screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)

    [report] = await quang.say(None, attachment=document(write_book(tmp_path / "loi.xlsx", bad_phone=True)))

    contacts = VI("spreadsheet.sheet.contacts")
    assert VI("spreadsheet.where", sheet=contacts, row=2, column="SĐT") in report.text
    assert VI("spreadsheet.where", sheet=contacts, row=3, column="SĐT") in report.text
    assert quang.buttons  # the companies still go in


async def test_a_salesperson_is_told_who_can_import_and_the_file_is_not_kept(
        sheet_engine: Engine, screen: Screen, tmp_path: Path) -> None:
    lan = chat(sheet_engine, "1001", screen)

    [reply] = await lan.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))

    assert reply.text == VI("import_chat.who_can", names="Quang, Thảo")
    assert not (tmp_path / "home" / "uploads").exists()


async def test_a_file_over_20_mb_is_refused_before_it_is_downloaded(
        sheet_engine: Engine, screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    attachment = document(write_book(tmp_path / "lon.xlsx"), size=MAX_DOWNLOAD_BYTES + 1)

    [reply] = await quang.say(None, attachment=attachment)

    assert reply.text == VI("import_chat.too_large", size_mb="20", limit_mb=20)
    assert not (tmp_path / "home" / "uploads").exists()


async def test_another_kind_of_file_gets_what_is_accepted(sheet_engine: Engine, screen: Screen,
                                                           tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    pdf = tmp_path / "bao-gia.zip"  # a .pdf is knowledge now (an admin's; others are told so)
    pdf.write_bytes(b"%PDF-1.4")

    [reply] = await quang.say(None, attachment=document(pdf, mime="application/pdf"))

    assert reply.text == VI("import_chat.wrong_type", name="bao-gia.zip")


async def test_a_forged_or_someone_elses_import_button_is_refused(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path) -> None:
    quang, thao, lan = (chat(sheet_engine, user, screen) for user in ("2001", "3001", "1001"))
    await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))
    token = quang.buttons[0].data.rsplit(":", 1)[1]

    [not_theirs] = await thao.tap(pack("sheet", "go", token))
    [made_up] = await quang.tap(pack("sheet", "go", "0123456789abcdef"))
    [path_trick] = await quang.tap(pack("sheet", "go", "../../etc"))
    [salesperson] = await lan.tap(pack("sheet", "go", token))

    assert not_theirs.text == VI("import_chat.not_yours")
    assert made_up.text == path_trick.text == VI("import_chat.stale")
    assert salesperson.text == VI("common.not_allowed")
    assert await count(sessionmaker, Company) == 0


async def test_export_sends_the_book_as_a_workbook_in_the_callers_language(
        sheet_engine: Engine, screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)
    await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))
    await quang.press(VI("import_chat.btn_import"))

    [reply] = await quang.say("/export")

    assert reply.file is not None
    assert reply.file.kind == "document"
    book = openpyxl.load_workbook(reply.file.path, read_only=True)
    assert len(book.sheetnames) >= 6
    assert reply.text.startswith(VI("import_chat.exported", counts="")[:12])


async def test_a_customers_document_is_still_refused_as_before(sheet_engine: Engine, screen: Screen,
                                                                 tmp_path: Path) -> None:
    customer = chat(sheet_engine, "555", screen)

    [reply] = await customer.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))

    assert reply.text == VI("support.attachment", kind=VI("att.document"))


async def test_a_long_trial_run_shows_a_progress_message_and_a_short_one_does_not(
        sheet_engine: Engine, screen: Screen, tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)

    [short] = await quang.say(None, attachment=document(write_book(tmp_path / "ngan.xlsx")))
    shown_for_short = list(screen.lines)
    [long] = await quang.say(None, attachment=document(write_long_book(tmp_path / "dai.xlsx", 2500)))

    assert shown_for_short == []
    reports = ["bot ✎: " + VI("import_chat.checking_progress", file="dai.xlsx", done=done, total="2.500",
                              percent=percent)
               for done, percent in (("500", 20), ("1.000", 40), ("1.500", 60), ("2.000", 80), ("2.500", 100))]
    assert screen.lines[0] in reports  # the newest report when the message is sent
    assert screen.lines[-1] == f"bot ✎: {VI('import_chat.checking_done', file='dai.xlsx')}"
    assert long.text.startswith(VI("import_chat.checked", file="dai.xlsx"))
    assert short.text.startswith(VI("import_chat.checked", file="ngan.xlsx"))


async def test_the_report_counts_each_sheet_on_a_line_of_its_own(sheet_engine: Engine, screen: Screen,
                                                                  tmp_path: Path) -> None:
    quang = chat(sheet_engine, "2001", screen)

    [report] = await quang.say(None, attachment=document(write_book(tmp_path / "khach-hang.xlsx")))

    lines = report.text.splitlines()
    for sheet, created in (("companies", 3), ("contacts", 2)):
        assert VI("import_chat.sheet_counts", sheet=VI(f"spreadsheet.sheet.{sheet}"), created=created, updated=0,
                  skipped=0, errors=0) in lines
    assert VI("import_chat.sheet_counts", sheet=VI("spreadsheet.total"), created=5, updated=0, skipped=0,
              errors=0) in lines
    assert not any(VI("spreadsheet.col_created") in line for line in lines)  # no table padded with spaces


class PausedReading:
    """Holds the importer once, while it reads row `at` of a sheet, until the test lets it read on.

    It holds whichever thread reads: if that were the event loop's, no other chat could be answered meanwhile.
    """

    def __init__(self, at: int) -> None:
        self.at = at
        self.events: list[str] = []
        self.paused = threading.Event()
        self.read_on = threading.Event()

    def next_run(self) -> None:
        self.paused.clear()
        self.read_on.clear()

    def rows(self, original: Any) -> Any:
        def rows_held_once(sheet: SheetData) -> Iterator[tuple[int, dict[str, Any]]]:
            for count, row in enumerate(original(sheet), start=1):
                if count == self.at and not self.paused.is_set():
                    self.events.append("importer paused mid-file")
                    self.paused.set()
                    self.read_on.wait(SAFETY_NET_S / 2)  # a safety net: the test lets it go on at once
                    self.events.append("importer read on")
                yield row

        return rows_held_once


async def test_another_chat_is_answered_while_a_large_file_is_checked_and_imported(
        sheet_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], screen: Screen, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    reading = PausedReading(at=10_000)
    monkeypatch.setattr(SheetData, "rows", reading.rows(SheetData.rows))
    quang, lan = chat(sheet_engine, "2001", screen), chat(sheet_engine, "1001", screen)
    book = write_long_book(tmp_path / "khach-hang.xlsx", 20_000)

    async def while_the_importer_is_paused(step: str, work: Any) -> list[Any]:
        running = asyncio.create_task(work)
        assert await asyncio.to_thread(reading.paused.wait, SAFETY_NET_S)
        answer = await lan.say("/help")
        reading.events.append(f"other chat answered ({len(answer)} reply)")
        reading.read_on.set()
        replies: list[Any] = await asyncio.wait_for(running, SAFETY_NET_S)
        reading.events.append(f"{step} finished")
        return replies

    [checked] = await while_the_importer_is_paused("trial run", quang.say(None, attachment=document(book)))
    reading.next_run()
    [imported] = await while_the_importer_is_paused("import", quang.press(VI("import_chat.btn_import")))

    while_paused = ["importer paused mid-file", "other chat answered (1 reply)", "importer read on"]
    assert reading.events == [*while_paused, "trial run finished", *while_paused, "import finished"]
    assert checked.text.startswith(VI("import_chat.checked", file="khach-hang.xlsx"))
    assert imported.text.startswith(VI("import_chat.imported", file="khach-hang.xlsx"))
    assert await count(sessionmaker, Company) == 20_000

"""Moving in from Excel over real HTTP: aiogram polling against the local Bot API server, every request validated.

A manager sends a workbook (sendDocument in), the bot downloads it (getFile + the file URL), answers with
the trial run and [Import] [Cancel]; the tap edits that message as the import goes (no two edits within
2 s), then the report arrives; /export sends a workbook openpyxl opens. Refusals: a salesperson, a file
over 20 MB, another kind of file, a forged button.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.core.progress import PROGRESS_EVERY_S
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import Company
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.test_spreadsheet_chat import XLSX, write_book, write_long_book
from tests.support.bot_harness import RunBot, handled
from tests.support.fake_bot_api import MAX_BOT_DOWNLOAD_BYTES, FakeBotApi, TgMessage

LAN, QUANG = 1001, 2001
VI = Texts("vi")


def first(messages: list[TgMessage], wanted: Callable[[TgMessage], bool]) -> TgMessage:
    """Return the first message that is `wanted`; LookupError (\"not yet\" for `wait_for`) when none is."""
    for message in messages:
        if wanted(message):
            return message
    raise LookupError("no such message yet")


@pytest_asyncio.fixture
async def engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                 tmp_path: Path) -> AsyncIterator[Engine]:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        await services.pipelines.ensure_default()
        await services.users.add(name="Lan", role="sales", telegram_id=LAN)
        await services.users.add(name="Quang", role="manager", telegram_id=QUANG)
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(home=tmp_path / "home"), router=ROUTER,
                 render_reminder=reminder_reply)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(QUANG, first_name="Quang", language_code="vi")
        yield server


@pytest.fixture
def book_bytes(tmp_path: Path) -> bytes:
    return write_book(tmp_path / "khach-hang.xlsx").read_bytes()


async def test_a_manager_sends_a_workbook_checks_it_imports_it_with_progress_and_exports_the_book(running: RunBot,
        api: FakeBotApi, engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], book_bytes: bytes) -> None:
    async with running(api, engine) as tg:
        api.send_document(QUANG, "khach-hang.xlsx", mime_type=XLSX, data=book_bytes)
        checked = await api.wait_for(lambda: first(api.sent(QUANG), lambda m: bool(m.buttons)), chat_id=QUANG)
        assert (checked.text or "").startswith(VI("import_chat.checked", file="khach-hang.xlsx"))
        assert checked.buttons == [VI("import_chat.btn_import"), VI("import_chat.btn_cancel")]
        assert len(api.calls("getFile")) == 1

        api.tap(QUANG, VI("import_chat.btn_import"), message_id=checked.message_id)
        imported = VI("import_chat.imported", file="khach-hang.xlsx")
        report = await api.wait_for(lambda: first(api.sent(QUANG), lambda m: (m.text or "").startswith(imported)),
                                    chat_id=QUANG)
        await handled(tg)

        progress = api.message(QUANG, checked.message_id)
        assert progress is not None
        assert progress.text == VI("import_chat.progress_done", file="khach-hang.xlsx")
        assert progress.buttons == []
        edits = [r for r in api.calls("editMessageText") if r.params.get("message_id") == checked.message_id]
        assert len(edits) >= 2  # "importing…", then done
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(edits)]
        assert all(gap >= PROGRESS_EVERY_S * 0.95 for gap in gaps), gaps
        assert report.message_id > checked.message_id

        [exported] = await api.say(QUANG, "/export")
        await handled(tg)

    assert exported.kind == "document"
    assert exported.file_id is not None
    book = openpyxl.load_workbook(BytesIO(api.file_bytes(exported.file_id)), read_only=True)
    assert len(book.sheetnames) >= 6
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Company)) == 3
    assert api.problems == []


async def test_refusals_a_salesperson_a_file_over_20_mb_another_kind_of_file_and_a_forged_button(running: RunBot,
        api: FakeBotApi, engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], book_bytes: bytes) -> None:
    async with running(api, engine) as tg:
        api.send_document(LAN, "khach-hang.xlsx", mime_type=XLSX, data=book_bytes)
        [to_lan] = await api.wait_for(1, chat_id=LAN)
        assert to_lan.text == VI("import_chat.who_can", names="Quang")

        api.send_document(QUANG, "qua-lon.xlsx", mime_type=XLSX, data=b"\0" * (MAX_BOT_DOWNLOAD_BYTES + 1))
        [too_large] = await api.wait_for(1, chat_id=QUANG)
        assert too_large.text == VI("import_chat.too_large", size_mb="20", limit_mb=20)

        api.send_document(QUANG, "bao-gia.zip")
        await api.wait_for(2, chat_id=QUANG)
        assert api.last(QUANG).text == VI("import_chat.wrong_type", name="bao-gia.zip")

        api.send_document(QUANG, "khach-hang.xlsx", mime_type=XLSX, data=book_bytes)
        checked = await api.wait_for(lambda: first(api.sent(QUANG), lambda m: bool(m.buttons)), chat_id=QUANG)
        api.tap_forged(QUANG, checked.message_id, "sheet:v1:go:0123456789abcdef")
        await api.wait_for(4, chat_id=QUANG)
        await handled(tg)

    assert api.last(QUANG).text == VI("import_chat.stale")
    # Lan's (its header read, to tell a FAQ table for the admins from a customer book; not kept) and the good
    # workbook: never the one over 20 MB nor the .zip
    assert len(api.calls("getFile")) == 2
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Company)) == 0
    assert api.problems == []


async def test_a_long_trial_run_sends_one_progress_message_edits_it_and_then_the_report(running: RunBot,
        api: FakeBotApi, engine: Engine, tmp_path: Path) -> None:
    data = write_long_book(tmp_path / "dai.xlsx", 2500).read_bytes()
    async with running(api, engine) as tg:
        api.send_document(QUANG, "dai.xlsx", mime_type=XLSX, data=data)
        checked = await api.wait_for(lambda: first(api.sent(QUANG), lambda m: bool(m.buttons)), chat_id=QUANG)
        await handled(tg)

    [progress] = [m for m in api.sent(QUANG) if m.message_id < checked.message_id]
    assert progress.text == VI("import_chat.checking_done", file="dai.xlsx")
    sent = [r for r in api.calls("sendMessage") if "reply_markup" not in r.params]  # all but the report
    edits = [r for r in api.calls("editMessageText") if r.params.get("message_id") == progress.message_id]
    assert len(sent) == 1  # one message, edited: not a message per report
    assert edits
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise([*sent, *edits])]
    assert all(gap >= PROGRESS_EVERY_S * 0.95 for gap in gaps), gaps
    assert (checked.text or "").startswith(VI("import_chat.checked", file="dai.xlsx"))
    assert api.problems == []

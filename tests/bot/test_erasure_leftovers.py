"""An erasure leaves nothing behind when the process dies halfway, nor in the notice that tells the customer (issue 11).

A crash after the erasure committed but before its after-commit hook rebuilt the history index leaves the erased
interactions in `history-erasures.json` and their texts and vectors in Chroma's files: the bot finishes them when it
starts and at its hourly housekeeping, without waiting for a staff member's next `/ask`. The "erased" notice names
the customer's chat only until it is sent, or until it will never be (she blocked the bot, the attempts ran out):
then its outbox row goes with no copy in the SQLite files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.core.engine import Engine
from bot.core.messages import Inbound
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import OutboxMessage
from crm_core.ports import Ports
from crm_core.retrieval import HistoryIndex
from crm_core.retrieval.history import JOURNAL
from crm_core.services.outbox import MAX_ATTEMPTS, FailureKind
from tests.bot.conftest import ChatDriver
from tests.core.retrieval.test_history import (
    AT,
    SECRET,
    _files_holding_vectors,
    _raw_files_holding,
    _stored_vectors,
    _vector_forms,
)

KEPT = "Chị Lan bên Vinamilk hỏi về ghế công thái học"
ERASED_WORDS = ["Hòa Phát", "0903123456", "Anh Minh"]
CHAT = "7770001"


def _home_left_by_a_crash(home: Path) -> tuple[HistoryIndex, list[bytes]]:
    """A history index whose interaction 1 an erasure journaled, the process killed before the index was rebuilt."""
    index = HistoryIndex(home=home)
    index.add(interaction_id=1, company_id=7, contact_id=3, text=SECRET, occurred_at=AT)
    index.add(interaction_id=2, company_id=8, contact_id=None, text=KEPT, occurred_at=AT)
    forms = _vector_forms(index, 1, _stored_vectors(home / "chroma"))
    index.record_removal([1])  # what the erasure does inside its transaction; its after-commit hook never ran
    assert (home / JOURNAL).exists()
    assert _raw_files_holding(home / "chroma", ERASED_WORDS) != []
    assert _files_holding_vectors(home / "chroma", forms) != []
    return index, forms


async def test_a_bot_that_starts_after_a_crash_finishes_the_erasure_its_journal_holds_before_any_search(
        tmp_path: Path, clock: FrozenClock) -> None:
    home = tmp_path / "home"
    _, forms = _home_left_by_a_crash(home)

    app = await build_app(Settings(home=home), clock=clock)
    try:
        assert not (home / JOURNAL).exists()
        assert _raw_files_holding(home / "chroma", ERASED_WORDS) == []
        assert _files_holding_vectors(home / "chroma", forms) == []
        history: Any = app.engine.ports.history
        assert [h.interaction_id for h in history.search("Vinamilk ghế công thái học")] == [2]  # the rest stays
    finally:
        await app.close()


async def test_the_schedulers_housekeeping_finishes_an_erasure_left_in_the_journal(
        tmp_path: Path, clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    home = tmp_path / "home"
    index, forms = _home_left_by_a_crash(home)
    engine = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                    render_reminder=reminder_reply, ports=Ports(history=index))

    await engine.claim_pushes(["telegram"])

    assert not (home / JOURNAL).exists()
    assert _raw_files_holding(home / "chroma", ERASED_WORDS) == []
    assert _files_holding_vectors(home / "chroma", forms) == []


async def test_the_erased_notice_once_sent_leaves_the_customers_chat_id_in_no_file_of_the_database(
        support_engine: Engine, backend: str, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer, thao = ChatDriver(support_engine, CHAT), ChatDriver(support_engine, "3001")  # Thảo is admin
    await customer.say("gặp nhân viên", display_name="Vy")
    await customer.say("/privacy", display_name="Vy")
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]

    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")  # the driver reports each reply delivered, as a channel does once it is sent

    assert [r.forget_when_sent for r in thao.pushed_to(CHAT)] == [True]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.chat_id == CHAT)) == 0
    if backend == "sqlite":  # PostgreSQL keeps no such files for us to read
        database = Path(sessionmaker.kw["bind"].url.database)
        files = [database, *database.parent.glob(f"{database.name}-*")]
        assert _raw_files_holding_any(files, [CHAT]) == []


@pytest.mark.parametrize(("reason", "attempts"), [("unreachable", 1), ("rejected", 1), ("retry", MAX_ATTEMPTS)])
async def test_the_erased_notice_that_never_arrives_leaves_the_customers_chat_id_in_no_file_either(
        support_engine: Engine, backend: str, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        reason: FailureKind, attempts: int) -> None:
    customer = ChatDriver(support_engine, CHAT)
    await customer.say("gặp nhân viên", display_name="Vy")
    await customer.say("/privacy", display_name="Vy")
    await customer.press("Yêu cầu xóa")
    thao = ChatDriver(support_engine, "3001")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    confirm = next(b for b in thao.buttons if "Xóa vĩnh viễn" in b.label)
    replies = await support_engine.handle(Inbound(channel="telegram", chat_id="3001", user_id="3001",
                                                  callback_data=confirm.data, callback_id="9001", update_id="9001"))
    [notice] = [r for r in replies if r.chat_id == CHAT]
    assert notice.forget_when_sent

    told = []
    for attempt in range(attempts):  # she blocked the bot, Telegram refused the message, or every attempt failed
        told = await support_engine.undelivered(notice, reason=reason, error="the channel said no")
        if attempt + 1 < attempts:
            assert await _outbox_rows_to(sessionmaker, CHAT) == 1  # kept while it may still arrive
            clock.advance(timedelta(hours=1))
            [notice] = [r for r in await support_engine.claim_outbox(["telegram"]) if r.chat_id == CHAT]

    assert [r.chat_id for r in told] == ["3001"]  # Thảo hears it did not arrive
    assert await _outbox_rows_to(sessionmaker, CHAT) == 0
    if backend == "sqlite":  # PostgreSQL keeps no such files for us to read
        database = Path(sessionmaker.kw["bind"].url.database)
        files = [database, *database.parent.glob(f"{database.name}-*")]
        assert _raw_files_holding_any(files, [CHAT]) == []


async def _outbox_rows_to(sessionmaker: async_sessionmaker[AsyncSession], chat_id: str) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.chat_id == chat_id)) or 0


def _raw_files_holding_any(files: list[Path], needles: list[str]) -> list[str]:
    """Every one of `files` whose raw bytes hold one of `needles`."""
    return sorted(f"{f.name}: {n}" for f in files if f.is_file() for n in needles if n.encode() in f.read_bytes())

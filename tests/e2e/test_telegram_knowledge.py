"""Knowledge by sending a file, over real HTTP: aiogram (and PTB) polling against the local Bot API server, every
request validated against the spec.

An admin sends a Markdown file: the bot downloads it (getFile + the file URL), sends one progress message and
edits it (never two edits within 2 s), then sends the report; /kb test then answers from it. A salesperson's
file is refused without being downloaded.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.core.progress import PROGRESS_EVERY_S
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.ports import Ports
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import shipped_knowledge, shipped_knowledge_home  # noqa: F401 - fixtures
from tests.support.bot_harness import RunBot, handled
from tests.support.fake_bot_api import FakeBotApi, TgMessage

LAN, THAO = 1001, 3001
VI = Texts("vi")
WARRANTY = "# Bảo hành\n\n## Thời hạn bảo hành\n\nMáy lọc nước AquaPro được bảo hành 18 tháng kể từ ngày mua.\n"


def first(messages: list[TgMessage], wanted: Callable[[TgMessage], bool]) -> TgMessage:
    for message in messages:
        if wanted(message):
            return message
    raise LookupError("no such message yet")


@pytest_asyncio.fixture
async def engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path,
                 shipped_knowledge: Any) -> AsyncIterator[tuple[Engine, Any]]:  # noqa: F811
    from crm_core.retrieval import KnowledgeBase

    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        await services.pipelines.ensure_default()
        await services.users.add(name="Lan", role="sales", telegram_id=LAN)
        await services.users.add(name="Thảo", role="admin", telegram_id=THAO)
    kb = KnowledgeBase(home=tmp_path / "kb-home", embedder=shipped_knowledge.embedder)
    yield (Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(home=tmp_path / "home"), router=ROUTER,
                  render_reminder=reminder_reply, ports=Ports(knowledge=kb, knowledge_shelf=kb)), kb)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(THAO, first_name="Thảo", language_code="vi")
        yield server


async def test_an_admin_sends_a_file_sees_one_progress_message_then_the_report_and_customers_get_it(
        running: RunBot, api: FakeBotApi, engine: tuple[Engine, Any]) -> None:
    bot_engine, kb = engine
    async with running(api, bot_engine) as tg:
        api.send_document(THAO, "bao-hanh.md", mime_type="text/markdown", data=WARRANTY.encode())
        added = VI("kb.report_added", file="bao-hanh.md")
        report = await api.wait_for(lambda: first(api.sent(THAO), lambda m: (m.text or "").startswith(added)),
                                    chat_id=THAO)
        await handled(tg)
        [tested] = await api.say(THAO, "/kb test AquaPro bảo hành bao lâu?")
        await handled(tg)

    assert len(api.calls("getFile")) == 1
    [progress] = [m for m in api.sent(THAO) if m.message_id < report.message_id]
    assert progress.text == VI("kb.progress_done", file="bao-hanh.md")
    edits = [r for r in api.calls("editMessageText") if r.params.get("message_id") == progress.message_id]
    assert len(edits) >= 1
    sends = [r for r in api.calls("sendMessage") if str(r.params.get("chat_id")) == str(THAO)]
    assert sends[0].params.get("text") == VI("kb.progress_receiving", file="bao-hanh.md")
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise([sends[0], *edits])]
    assert all(gap >= PROGRESS_EVERY_S * 0.95 for gap in gaps), gaps
    assert "18 tháng" in (tested.text or "")
    assert [d.doc for d in kb.list_docs()] == ["bao-hanh.md"]
    assert api.problems == []


async def test_a_salespersons_file_is_refused_without_downloading_it(
        running: RunBot, api: FakeBotApi, engine: tuple[Engine, Any]) -> None:
    bot_engine, kb = engine
    async with running(api, bot_engine) as tg:
        api.send_document(LAN, "bao-hanh.md", mime_type="text/markdown", data=WARRANTY.encode())
        [to_lan] = await api.wait_for(1, chat_id=LAN)
        await handled(tg)

    assert to_lan.text == VI("kb.only_admins")
    assert api.calls("getFile") == []
    assert kb.list_docs() == []
    assert api.problems == []

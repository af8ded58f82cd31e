"""A real engine over the test database, and a chat driver that talks to it like a channel does."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.channel import ChannelIO
from bot.core.engine import Engine
from bot.core.messages import Attachment, Button, Inbound, Reply
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from crm_core.assets import DEMO_KNOWLEDGE_DIR
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.ports import Ports
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.support.scheduling import RecordedPushes

STAFF = (("Lan", "sales", 1001), ("Tuấn", "sales", 1002), ("Quang", "manager", 2001))
_update_ids = itertools.count(5000)
_sent_message_ids = itertools.count(90_000)


@dataclass
class ChatDriver:
    """One Telegram-like chat: says text, presses buttons of the latest reply that had some."""

    engine: Engine
    user_id: str
    channel: str = "telegram"
    language_code: str | None = "vi"
    buttons: list[Button] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)
    io: ChannelIO | None = None  # the channel's files and live edits, lent with each inbound

    async def say(self, text: str | None, *, attachment: Attachment | None = None, update_id: int | None = None,
                  message_id: int | None = None, is_edit: bool = False, shared_phone: str | None = None,
                  reply_to: Reply | None = None, chat_id: str | None = None,
                  display_name: str | None = None) -> list[Reply]:
        """Send a message (or a shared contact, or a reply to the message `reply_to`) and return the replies."""
        uid = next(_update_ids) if update_id is None else update_id
        replied_id = await self.received(reply_to) if reply_to is not None else None
        inbound = Inbound(channel=self.channel, chat_id=chat_id or self.user_id, user_id=self.user_id, text=text,
                          attachment=attachment, update_id=str(uid), message_id=str(message_id or uid),
                          language_code=self.language_code, is_edit=is_edit, shared_phone=shared_phone,
                          reply_to_text=reply_to.text if reply_to else None, display_name=display_name,
                          reply_to_message_id=replied_id, is_group=chat_id is not None and chat_id.startswith("-"))
        return await self._remember(await self.engine.handle(inbound, io=self.io))

    async def received(self, reply: Reply) -> str:
        """Deliver `reply` as a channel's adapter does: it gets a message id, recorded when it has a ref."""
        message_id = str(next(_sent_message_ids))
        await self.engine.delivered(reply, channel=reply.channel or self.channel,
                                    chat_id=reply.chat_id or self.user_id, message_ids=[message_id])
        return message_id

    async def press(self, label: str) -> list[Reply]:
        """Press the first button of the latest keyboard whose label contains `label`."""
        button = next((b for b in self.buttons if label in b.label), None)
        assert button is not None, f"no button {label!r} in {[b.label for b in self.buttons]}"
        return await self.tap(button.data)

    async def tap(self, data: str, *, update_id: int | None = None) -> list[Reply]:
        """Send a callback with raw data."""
        uid = next(_update_ids) if update_id is None else update_id
        inbound = Inbound(channel=self.channel, chat_id=self.user_id, user_id=self.user_id, callback_data=data,
                          callback_id=str(uid), update_id=str(uid), language_code=self.language_code)
        return await self._remember(await self.engine.handle(inbound, io=self.io))

    async def _remember(self, replies: list[Reply]) -> list[Reply]:
        """Keep the replies and report them delivered, as a channel's adapter does after sending."""
        self.last = replies
        for reply in replies:
            if reply.keyboard is not None and reply.chat_id is None:
                self.buttons = reply.keyboard.buttons()
            await self.engine.delivered(reply, channel=reply.channel or self.channel,
                                        chat_id=reply.chat_id or self.user_id, message_ids=[])
        return replies

    def pushed_to(self, chat_id: str) -> list[Reply]:
        """Return the replies of the latest turn that went to another chat."""
        return [r for r in self.last if r.chat_id == chat_id]

    @property
    def text(self) -> str:
        """Return the text of the replies to this chat, joined."""
        return "\n".join(r.text for r in self.last if r.chat_id is None)


@pytest_asyncio.fixture
async def engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> AsyncIterator[Engine]:
    """An engine with three staff members registered: Lan and Tuấn (sales), Quang (manager)."""
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        for name, role, telegram_id in STAFF:
            await services.users.add(name=name, role=role, telegram_id=telegram_id)
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                 render_reminder=reminder_reply)


@pytest.fixture
def pushes(engine: Engine) -> RecordedPushes:
    """The scheduler over `engine`, delivering Telegram pushes to a recorder."""
    return RecordedPushes(engine)


@pytest_asyncio.fixture
async def lan(engine: Engine) -> ChatDriver:
    """Lan's chat (salesperson)."""
    return ChatDriver(engine, "1001")


@pytest_asyncio.fixture
async def quang(engine: Engine) -> ChatDriver:
    """Quang's chat (manager)."""
    return ChatDriver(engine, "2001")


@pytest_asyncio.fixture
async def stranger(engine: Engine) -> ChatDriver:
    """Someone who is not staff."""
    return ChatDriver(engine, "777")


@pytest.fixture(scope="session")
def shipped_knowledge_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose knowledge base holds the shipped demo knowledge (vectors from the install-time cache)."""
    from bot.demo import embedding_cache_dir
    from crm_core.retrieval import KnowledgeBase
    from crm_core.retrieval.embedder import CachingEmbedder, default_embedder

    home = tmp_path_factory.mktemp("knowledge-home")
    kb = KnowledgeBase(home=home, embedder=CachingEmbedder(default_embedder(), embedding_cache_dir()))
    report = kb.ingest([DEMO_KNOWLEDGE_DIR])
    assert report.ok, report.errors
    return home


@pytest.fixture(scope="session")
def shipped_knowledge(shipped_knowledge_home: Path) -> Any:
    """The knowledge base customers are answered from (read-only in tests: asking writes nothing)."""
    from crm_core.retrieval import KnowledgeBase

    knowledge = KnowledgeBase(home=shipped_knowledge_home)
    knowledge.ask("bảo hành bao lâu?")  # loads the models once here, not inside a test's safety-net wait
    return knowledge


@pytest_asyncio.fixture
async def support_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, shipped_knowledge: Any,
                         tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine that answers customers from the shipped knowledge; staff Lan, Tuấn (sales), Quang (manager),
    Thảo (admin)."""
    from crm_core.retrieval import HistoryIndex

    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        for name, role, telegram_id in (*STAFF, ("Thảo", "admin", 3001)):
            await services.users.add(name=name, role=role, telegram_id=telegram_id)
    history = HistoryIndex(home=tmp_path / "history-home", embedder=shipped_knowledge.embedder)
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                 render_reminder=reminder_reply, ports=Ports(knowledge=shipped_knowledge, history=history))

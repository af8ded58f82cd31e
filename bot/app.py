"""The composition root: settings, store, engine and optional capabilities, built once."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.scheduler import Scheduler
from crm_core.clock import Clock, FrozenClock, SystemClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker, upgrade
from crm_core.ports import ChatModelPort, HistoryPort, KnowledgeShelfPort, Ports
from crm_core.services import Services
from crm_core.uow import UnitOfWork

if TYPE_CHECKING:
    from crm_core.prompting import PromptLibrary

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything a channel needs to run."""

    settings: Settings
    clock: Clock
    db: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: Engine
    scheduler: Scheduler

    async def ready_for_traffic(self) -> None:
        """Load what the first message would load, then freeze the start-up heap.

        The embedder, Chroma and SQLAlchemy leave a large heap of long-lived objects; without
        `gc.freeze()` every full collection walks it again, which added 170-340 ms pauses to
        ordinary messages in the engine benchmark. Frozen objects are never collected, which is
        what long-lived start-up state should be.
        """
        knowledge = self.engine.ports.knowledge
        if knowledge is not None:
            try:
                await asyncio.to_thread(knowledge.ask, "warm up")
            except Exception:  # an empty or unreadable knowledge base is reported when a customer asks
                log.info("knowledge base not warmed up", exc_info=True)
        gc.collect()
        gc.freeze()

    async def close(self) -> None:
        """Release the database connections."""
        await self.db.dispose()


def make_clock(settings: Settings, now: datetime | None) -> Clock:
    """A frozen clock for `--now`, else the system clock in the business time zone."""
    return FrozenClock(now) if now is not None else SystemClock(settings.tz)


async def prepare_store(settings: Settings, clock: Clock) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Create and migrate the home's database; install the default pipeline."""
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    await upgrade(url)
    db = create_engine(url)
    sessionmaker = create_sessionmaker(db)
    await install_default_pipeline(sessionmaker, clock)
    return db, sessionmaker


async def install_default_pipeline(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """Install the general pipeline as default when there is none, once whoever else is starting at the same time."""
    try:
        async with UnitOfWork(sessionmaker) as uow:
            await Services.build(uow.session, now=clock.now()).pipelines.ensure_default()
    except IntegrityError:  # another process (a second worker starting at the same time) installed it first
        async with UnitOfWork(sessionmaker) as uow:
            await Services.build(uow.session, now=clock.now()).pipelines.ensure_default()


def build_ports(settings: Settings) -> Ports:
    """Load the optional capabilities that are configured and available."""
    from crm_core.prompting import PromptLibrary

    prompts = PromptLibrary(settings.prompts_dir)  # one library: an admin's saved version is in force everywhere
    chat_model = _chat_model(settings, prompts)
    knowledge, history = _retrieval(settings, chat_model, prompts)
    return Ports(knowledge=knowledge, history=history, chat_model=chat_model, prompts=prompts,
                 knowledge_shelf=knowledge)


def _chat_model(settings: Settings, prompts: PromptLibrary) -> ChatModelPort | None:
    """The configured LLM and the prompt it reads logs with; None without one (rules only)."""
    if settings.llm.provider == "none":
        return None
    try:
        from crm_core.llm import build_chat_model

        prompt = prompts.get("parse_log")
        return ChatModelPort(model=build_chat_model(settings.llm), log_prompt=prompt, timeout_s=settings.llm.timeout_s,
                             prompts=prompts)
    except Exception:  # an LLM only improves answers; never block the bot on it
        log.warning("the configured LLM could not be loaded; continuing with rules only", exc_info=True)
        return None


def _retrieval(settings: Settings, chat_model: ChatModelPort | None, prompts: PromptLibrary
               ) -> tuple[KnowledgeShelfPort | None, HistoryPort | None]:
    """Open the knowledge base (customer answers) and the history index (staff /ask) in the home."""
    try:
        from crm_core.retrieval import HistoryIndex, KnowledgeBase
        from crm_core.retrieval.embedder import default_embedder
        from crm_core.retrieval.screening import declared_by

        embedder = default_embedder()
        knowledge = KnowledgeBase(home=settings.home, chroma_url=settings.chroma_url, embedder=embedder,
                                  llm=chat_model.model if chat_model else None, llm_timeout_s=settings.llm.timeout_s,
                                  prompts=prompts, own_contacts=declared_by(settings))
        return knowledge, HistoryIndex(home=settings.home, chroma_url=settings.chroma_url, embedder=embedder)
    except Exception:  # without retrieval customers are handed to a person and /ask says it is unavailable
        log.warning("the knowledge base could not be opened; customers will be handed to staff", exc_info=True)
        return None, None


async def build_app(settings: Settings, *, now: datetime | None = None, clock: Clock | None = None) -> App:
    """Build the store and the engine for a run."""
    clock = clock or make_clock(settings, now)
    db, sessionmaker = await prepare_store(settings, clock)
    ports = build_ports(settings)
    await load_prompts_in_force(sessionmaker, ports, now=clock.now())
    engine = Engine(sessionmaker=sessionmaker, clock=clock, settings=settings, router=ROUTER,
                    render_reminder=reminder_reply, ports=ports)
    await engine.finish_erasures()  # those a stopped or killed process approved but had not finished
    scheduler = Scheduler(engine, interval_s=settings.reminder_interval_s)
    return App(settings=settings, clock=clock, db=db, sessionmaker=sessionmaker, engine=engine, scheduler=scheduler)


async def load_prompts_in_force(sessionmaker: async_sessionmaker[AsyncSession], ports: Ports, *, now: datetime
                                ) -> None:
    """Serve the prompt versions admins put in force (the database's) from the shared library."""
    if ports.prompts is None:
        return
    from crm_core.prompting.versions import PromptVersions

    async with UnitOfWork(sessionmaker) as uow:
        active = await PromptVersions(uow.session, library=ports.prompts, now=now).load_active()
    ports.prompts.active.replace_all(active)

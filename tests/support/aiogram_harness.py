"""Run the real aiogram polling loop against the fake Bot API for the length of a block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from aiogram import Bot, Dispatcher

from bot.adapters.aiogram_adapter import adapter_of, build_bot, build_dispatcher, run_polling
from bot.core.engine import Engine
from bot.core.ports import ConversationEngine
from bot.scheduler import PushSource, Scheduler
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi


class PushingEngine(ConversationEngine, PushSource, Protocol):
    """An engine the adapter drives that the scheduler also claims pushes from."""


@asynccontextmanager
async def running(
    api: FakeBotApi,
    engine: PushingEngine,
    *,
    push_interval_s: float = 3600.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    callback_answer_deadline_s: float = 1.0,
) -> AsyncIterator[tuple[Dispatcher, Bot]]:
    """Run the real polling loop, and a scheduler ticking every `push_interval_s`, until the block ends."""
    bot = build_bot(DEFAULT_TOKEN, api.base_url, sleep=sleep)
    dispatcher = build_dispatcher(engine, callback_answer_deadline_s=callback_answer_deadline_s)
    scheduler = Scheduler(engine, interval_s=push_interval_s)
    task = asyncio.create_task(
        run_polling(
            engine, DEFAULT_TOKEN, api.base_url, scheduler=scheduler, bot=bot, dispatcher=dispatcher,
            handle_signals=False, journal=engine if isinstance(engine, Engine) else None,
        )
    )
    await api.wait_for(lambda: api.calls("getUpdates") or task.done())
    if task.done():
        await task
    try:
        yield dispatcher, bot
    finally:
        await dispatcher.stop_polling()
        await task




async def handled(dispatcher: Dispatcher, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - as in FakeBotApi
    """Wait until the bot has finished every update it took, its sends and their records included.

    A person reads a message before answering it; a test answers the moment it appears, while the
    bot may still be recording which ticket that message stands for. A safety net, not an assertion.
    """
    adapter = adapter_of(dispatcher)
    async with asyncio.timeout(timeout):
        while adapter.inflight:
            await asyncio.wait(set(adapter.inflight))

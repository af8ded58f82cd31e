"""Run the real aiogram polling loop against the fake Bot API for the length of a block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiogram import Bot, Dispatcher

from bot.adapters.aiogram_adapter import build_bot, build_dispatcher, run_polling
from bot.core.ports import ConversationEngine
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi


@asynccontextmanager
async def running(
    api: FakeBotApi,
    engine: ConversationEngine,
    *,
    push_interval_s: float = 3600.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    callback_answer_deadline_s: float = 1.0,
) -> AsyncIterator[tuple[Dispatcher, Bot]]:
    """Run the real polling loop until the block ends, then stop it cleanly."""
    bot = build_bot(DEFAULT_TOKEN, api.base_url, sleep=sleep)
    dispatcher = build_dispatcher(engine, callback_answer_deadline_s=callback_answer_deadline_s)
    task = asyncio.create_task(
        run_polling(
            engine, DEFAULT_TOKEN, api.base_url, push_interval_s, bot=bot, dispatcher=dispatcher, handle_signals=False
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



"""aiogram behind the framework-independent webhook (bot.webhook): a kept update's JSON -> the adapter.

The ingress and the worker loop know no framework; this gives the worker loop its `process(payload)`:
the raw update is read as an aiogram `Update` and handled exactly like a polled one (per-chat lock,
callback answer by deadline, rendering). Every send waits for the shared rate limiter first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiogram.types import Update

from bot.adapters.aiogram_adapter.convert import CHANNEL
from bot.adapters.aiogram_adapter.runner import adapter_of, build_dispatcher, delivering, set_command_menus
from bot.adapters.aiogram_adapter.session import build_bot
from bot.core.limits import RateLimiter
from bot.core.ports import ConversationEngine
from bot.scheduler import Scheduler
from bot.webhook.worker import Process


@contextlib.asynccontextmanager
async def aiogram_processing(engine: ConversationEngine, token: str, api_base_url: str | None = None, *,
                             limiter: RateLimiter, scheduler: Scheduler | None = None,
                             drain_timeout_s: float = 10.0) -> AsyncIterator[Process]:
    """Yield `process(payload)` for the worker loop; deliver the scheduler's pushes meanwhile."""
    bot = build_bot(token, api_base_url, limiter=limiter)
    adapter = adapter_of(build_dispatcher(engine))

    async def process(payload: str) -> None:
        await adapter.on_update(Update.model_validate_json(payload, context={"bot": bot}), bot)

    try:
        await set_command_menus(bot, await engine.command_menus(CHANNEL))
        async with delivering(scheduler, adapter, bot):
            yield process
    finally:
        await adapter.drain(drain_timeout_s)
        await bot.session.close()

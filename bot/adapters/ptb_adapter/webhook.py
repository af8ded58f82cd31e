"""python-telegram-bot behind the framework-independent webhook (bot.webhook): a kept update's JSON -> the adapter.

The ingress and the worker loop know no framework; this gives the worker loop its `process(payload)`:
the raw update is read as a PTB `Update` and handled exactly like a polled one (per-chat lock, callback
answer by deadline, rendering through PTB's Application), and what its handling raised is raised again
so the worker gives the update back. Every send waits for the shared rate limiter first.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.adapters.ptb_adapter.convert import CHANNEL
from bot.adapters.ptb_adapter.runner import PtbAdapter, delivering, read_update, set_command_menus
from bot.adapters.ptb_adapter.session import build_application
from bot.core.limits import RateLimiter
from bot.core.ports import ConversationEngine
from bot.scheduler import Scheduler
from bot.webhook.worker import Process


@contextlib.asynccontextmanager
async def ptb_processing(engine: ConversationEngine, token: str, api_base_url: str | None = None, *,
                         limiter: RateLimiter, scheduler: Scheduler | None = None,
                         drain_timeout_s: float = 10.0) -> AsyncIterator[Process]:
    """Yield `process(payload)` for the worker loop; deliver the scheduler's pushes meanwhile."""
    application = build_application(token, api_base_url, limiter=limiter)
    adapter = PtbAdapter(engine)
    adapter.install(application)

    async def process(payload: str) -> None:
        await adapter.process(application, read_update(payload, application.bot))

    async with application:  # initialize (getMe) ... shutdown
        await set_command_menus(application.bot, await engine.command_menus(CHANNEL))
        try:
            async with delivering(scheduler, adapter, application.bot):
                yield process
        finally:
            await adapter.drain(drain_timeout_s)

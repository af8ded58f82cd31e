"""Run either Telegram adapter (aiogram or python-telegram-bot) against the fake Bot API for a block.

Tests take the `running` fixture (imported by tests/e2e/conftest.py and tests/adapters/conftest.py),
parametrised over both frameworks, so the same specification runs over real HTTP on each:
`async with running(api, engine) as tg: ...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

import pytest

from bot.core.engine import Engine
from bot.core.limits import RateLimiter
from bot.core.locks import ChatLocks
from bot.core.ports import ConversationEngine
from bot.scheduler import Deliver, PushSource, Scheduler
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

Framework = Literal["aiogram", "ptb"]
FRAMEWORKS: tuple[Framework, ...] = ("aiogram", "ptb")
Sleep = Callable[[float], Awaitable[None]]


class PushingEngine(ConversationEngine, PushSource, Protocol):
    """An engine the adapter drives that the scheduler also claims pushes from."""


@dataclass
class RunningBot:
    """A bot polling the fake server: what tests wait on and the sender a test-driven scheduler uses."""

    framework: Framework
    inflight: set[asyncio.Task[Any]]
    locks: ChatLocks
    make_sender: Callable[[], Deliver]

    def sender(self) -> Deliver:
        """Return the running bot's sender for the "telegram" channel (pushes under the chat locks)."""
        return self.make_sender()


class RunBot(Protocol):
    """`running(api, engine, ...)` bound to one framework (the e2e `running` fixture)."""

    def __call__(self, api: FakeBotApi, engine: PushingEngine, *, push_interval_s: float = ...,
                 sleep: Sleep = ..., callback_answer_deadline_s: float = ...,
                 drain_timeout_s: float = ...) -> AbstractAsyncContextManager[RunningBot]: ...


@asynccontextmanager
async def run_bot(
    api: FakeBotApi,
    engine: PushingEngine,
    *,
    framework: Framework = "aiogram",
    push_interval_s: float = 3600.0,
    sleep: Sleep = asyncio.sleep,
    callback_answer_deadline_s: float = 1.0,
    drain_timeout_s: float = 10.0,
    limiter: RateLimiter | None = None,
) -> AsyncIterator[RunningBot]:
    """Run the framework's real polling loop, and a scheduler ticking every `push_interval_s`, until the block ends.

    Polled updates are kept in the engine's journal (durable ingress) as `chatcrm bot` does.
    """
    scheduler = Scheduler(engine, interval_s=push_interval_s)
    journal = engine if isinstance(engine, Engine) else None
    if framework == "ptb":
        from bot.adapters.ptb_adapter import PollingBot, build_application

        application = build_application(DEFAULT_TOKEN, api.base_url, sleep=sleep, limiter=limiter)
        ptb = PollingBot(engine, application, journal=journal,
                         callback_answer_deadline_s=callback_answer_deadline_s, drain_timeout_s=drain_timeout_s)
        running_bot = RunningBot("ptb", ptb.adapter.inflight, ptb.adapter.locks, lambda: ptb.adapter.sender(ptb.bot))
        task = asyncio.create_task(ptb.run(scheduler=scheduler))
        stop: Callable[[], Awaitable[None]] = _as_coroutine(ptb.stop)
    else:
        from bot.adapters.aiogram_adapter import adapter_of, build_bot, build_dispatcher, run_polling

        bot = build_bot(DEFAULT_TOKEN, api.base_url, sleep=sleep, limiter=limiter)
        dispatcher = build_dispatcher(engine, callback_answer_deadline_s=callback_answer_deadline_s)
        adapter = adapter_of(dispatcher)
        running_bot = RunningBot("aiogram", adapter.inflight, adapter.locks, lambda: adapter.sender(bot))
        task = asyncio.create_task(run_polling(
            engine, DEFAULT_TOKEN, api.base_url, scheduler=scheduler, bot=bot, dispatcher=dispatcher,
            handle_signals=False, journal=journal, drain_timeout_s=drain_timeout_s))
        stop = dispatcher.stop_polling
    polled = len(api.calls("getUpdates"))  # this bot's first poll, not an earlier bot's of the same test
    await api.wait_for(lambda: len(api.calls("getUpdates")) > polled or task.done())
    if task.done():
        await task
    try:
        yield running_bot
    finally:
        await stop()
        await task


def _as_coroutine(stop: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def stopping() -> None:
        stop()

    return stopping


async def handled(bot: RunningBot, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - as in FakeBotApi
    """Wait until the bot has finished every update it took, its sends and their records included.

    A person reads a message before answering it; a test answers the moment it appears, while the
    bot may still be recording which ticket that message stands for. A safety net, not an assertion.
    """
    async with asyncio.timeout(timeout):
        while bot.inflight:
            await asyncio.wait(set(bot.inflight))


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> Framework:
    """The Telegram framework the bot runs on."""
    chosen: Framework = request.param
    return chosen


@pytest.fixture
def running(framework: Framework) -> RunBot:
    """`running(api, engine, ...)`: the chosen framework's polling bot against the fake server for a block."""
    return partial(run_bot, framework=framework)

"""Webhook mode on python-telegram-bot: the framework-independent ingress and workers hand kept updates to PTB.

The full webhook specification lives in tests/scale/test_webhook.py (on aiogram); this checks the PTB
processing plugged into the same ingress: Telegram's deliveries are kept, handled once, answered
through PTB, and a failing update is given back to the inbox instead of being forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bot.adapters.ptb_adapter.webhook import ptb_processing
from bot.core.channel import ChannelIO
from bot.core.engine import Engine
from bot.core.limits import LocalRateLimiter
from bot.core.messages import Inbound, Reply
from bot.core.recent import LocalRecentUpdates
from bot.webhook.bot_api import set_webhook
from bot.webhook.queue import WebhookQueue
from bot.webhook.serve import serve
from crm_core.models import InboxUpdate, LogDraft
from tests.bot.conftest import engine
from tests.scale.test_webhook import (
    LAN,
    LOG,
    ROOMY,
    SECRET,
    api,
    count,
    engine_sessionmaker,
    free_port,
    post,
    text_update,
    until_inbox_empty,
    until_serving,
)
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

__all__ = ["api", "engine"]


@contextlib.asynccontextmanager
async def ptb_webhook_mode(api: FakeBotApi, engine: Engine) -> AsyncIterator[str]:
    """Run an ingress and two PTB worker slots on a free port; point the Bot API at it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    stop = asyncio.Event()
    async with ptb_processing(engine, DEFAULT_TOKEN, api.base_url, limiter=LocalRateLimiter(ROOMY)) as process:
        task = asyncio.create_task(serve(WebhookQueue(engine_sessionmaker(engine)), process=process,
                                         listen=("127.0.0.1", port), path="/tg/hook", secret=SECRET, slots=2,
                                         recent=LocalRecentUpdates(), stop=stop))
        await until_serving(url)
        await set_webhook(DEFAULT_TOKEN, url, secret=SECRET, api_base_url=api.base_url)
        try:
            yield url
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


async def test_telegrams_deliveries_are_kept_then_handled_by_ptb(api: FakeBotApi, engine: Engine) -> None:
    async with ptb_webhook_mode(api, engine) as url:
        api.send_text(LAN, LOG)
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
        assert await post(url, api.all_updates[-1]) == 200  # Telegram's late retry: handled once all the same
        await until_inbox_empty(engine)

    assert len([m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]) == 1
    assert await count(engine, LogDraft) == 1
    assert api.problems == []


async def test_an_update_whose_handling_failed_is_given_back_and_handled_later(
        api: FakeBotApi, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = engine.handle
    failures: list[str | None] = []

    async def fails_once(inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        if not failures:
            failures.append(inbound.update_id)
            raise RuntimeError("the engine's first try fails")
        return await handle(inbound, io=io)

    monkeypatch.setattr(engine, "handle", fails_once)
    async with ptb_webhook_mode(api, engine) as url:
        assert await post(url, text_update(77, LAN, LOG)) == 200
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)

    assert failures == ["77"]
    assert await count(engine, InboxUpdate) == 0
    assert len([m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]) == 1

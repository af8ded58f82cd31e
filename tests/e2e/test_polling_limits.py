"""Telegram's limits in polling mode too: every message the bot puts in a chat waits for the rate limiter first.

`chatcrm bot` (polling) gives both frameworks a limiter (in-process, or Redis's when CHATCRM_REDIS_URL is set);
here a recording one stands in front of the real local one, over real HTTP on both frameworks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.engine import Engine
from bot.core.limits import Limits, LocalRateLimiter, Window
from tests.support.bot_harness import RunBot, handled
from tests.support.fake_bot_api import FakeBotApi

LAN = 1001


class RecordingLimiter(LocalRateLimiter):
    """The in-process limiter, remembering which chats it granted sends to."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.granted: list[str] = []

    async def acquire(self, chat_id: str) -> float:
        granted_at = await super().acquire(chat_id)
        self.granted.append(chat_id)
        return granted_at


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        yield server


async def test_every_message_sent_in_polling_mode_waits_for_the_limiter(running: RunBot, api: FakeBotApi,
                                                                       engine: Engine) -> None:
    limiter = RecordingLimiter(Limits(per_chat=Window(100, 1.0), overall=Window(1000, 1.0)))
    async with running(api, engine, limiter=limiter) as tg:
        update_id = api.send_text(LAN, "/help")
        await api.wait_confirmed(update_id)
        await handled(tg)

    sends = [call for call in api.calls("sendMessage") if str(call.params.get("chat_id")) == str(LAN)]
    assert sends
    assert limiter.granted.count(str(LAN)) >= len(sends)

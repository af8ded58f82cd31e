"""What only the python-telegram-bot adapter has to get right (the shared behaviour: test_telegram_adapters.py).

PTB's `BadRequest` is a `NetworkError`, so telling a refused message from a network failure depends on
the order of the checks; our own polling loop confirms the last batch when it stops (PTB's Updater
may fail to, and the batch would come again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.adapters.ptb_adapter.render import failure_of
from bot.adapters.ptb_adapter.session import RetryAfterLimiter
from tests.adapters.test_telegram_adapters import CHAT, ScriptedEngine
from tests.support.bot_harness import run_bot
from tests.support.fake_bot_api import FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.mark.parametrize(("error", "expected"), [
    (Forbidden("Forbidden: bot was blocked by the user"), ("unreachable", None)),
    (BadRequest("Bad Request: chat not found"), ("unreachable", None)),
    (BadRequest("Bad Request: message text is empty"), ("rejected", None)),
    (RetryAfter(42), ("retry", 42.0)),
    (NetworkError("Bad Gateway"), ("retry", None)),
    (TimedOut(), ("retry", None)),
    (ValueError("a bug of ours"), ("rejected", None)),
])
def test_failures_are_told_apart_although_bad_request_is_a_network_error(
        error: Exception, expected: tuple[str, float | None]) -> None:
    assert failure_of(error) == expected


async def test_a_flood_wait_longer_than_the_limit_is_left_to_the_outbox() -> None:
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def flooded() -> bool:
        raise RetryAfter(120)

    with pytest.raises(RetryAfter):
        await RetryAfterLimiter(sleep=record_sleep).process_request(flooded, (), {}, "sendMessage", {}, None)
    assert waits == []


async def test_a_clean_stop_confirms_the_last_batch(api: FakeBotApi) -> None:
    async with run_bot(api, ScriptedEngine(), framework="ptb"):
        update_id = api.send_text(CHAT, "xin chào")
        await api.wait_for(1, chat_id=CHAT)

    assert api.confirmed_offset == update_id + 1
    assert api.pending_update_ids == []


async def test_a_stop_during_a_long_poll_is_prompt(api: FakeBotApi) -> None:
    loop = asyncio.get_running_loop()
    async with run_bot(api, ScriptedEngine(), framework="ptb"):
        started = loop.time()
    assert loop.time() - started < 2.0  # not the 10 s of the long poll

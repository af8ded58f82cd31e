"""An approved erasure leaves nothing about the customer's chat in Redis either (issue 11 item 5, scale-out).

The bot runs as `chatcrm bot --webhook` does with CHATCRM_REDIS_URL: chat locks and Telegram's send counts in
Redis under the test's prefix. Afterwards no key or value there holds her chat id, name or phone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.core.limits import Limits, Window
from bot.core.redis_store import shared_parts
from bot.texts import Texts
from bot.webhook.bot_api import set_webhook
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import engine
from tests.scale.conftest import REDIS_URL
from tests.scale.test_webhook import api, engine_sessionmaker
from tests.scale.test_webhook_redis import webhook_with
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

__all__ = ["api", "engine"]

HER, THAO = 555001, 3001
VI = Texts("vi")
NAME, PHONE = "Nguyễn Thị Bích Ngọc", "0912345678"
# Her chat's send count stays in Redis for half a minute (Telegram's real window is a second): long enough to be
# found after the erasure unless the erasure takes it out.
SLOW = Limits(per_chat=Window(100, 30.0), overall=Window(1000, 1.0))


async def _traces(redis: Redis, prefix: str) -> list[str]:
    """Every key under `prefix` whose name or value holds her chat id, name or phone."""
    needles = [str(HER), NAME, PHONE, PHONE[1:]]
    found = []
    async for key in redis.scan_iter(match=f"{prefix}*"):
        text = f"{key!r} {await _value(redis, key)!r}"
        if any(needle in text for needle in needles):
            found.append(_text(key))
    return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _value(redis: Redis, key: bytes | str) -> Any:
    """A key's value, whatever its type."""
    kind = _text(await redis.type(key))
    if kind == "string":
        return await redis.get(key)
    if kind == "zset":
        return await redis.zrange(key, 0, -1)
    if kind == "list":
        return await redis.lrange(key, 0, -1)
    if kind == "set":
        return await redis.smembers(key)
    if kind == "hash":
        return await redis.hgetall(key)
    return kind


async def _no_traces_within(redis: Redis, prefix: str, seconds: float) -> list[str]:
    """Her traces in Redis once they are gone, or those still there after `seconds` (the erasure is done by then)."""
    found = await _traces(redis, prefix)
    for _ in range(round(seconds / 0.1)):
        if not found:
            break
        await asyncio.sleep(0.1)
        found = await _traces(redis, prefix)
    return found


async def test_an_approved_erasure_leaves_nothing_of_her_chat_in_redis(
        api: FakeBotApi, engine: Engine, redis: Redis, prefix: str) -> None:
    async with UnitOfWork(engine_sessionmaker(engine)) as uow:
        await Services.build(uow.session, now=engine.clock.now()).users.add(name="Thảo", role="admin",
                                                                            telegram_id=THAO)
    api.add_user(HER, first_name=NAME, last_name=None, phone_number=PHONE)
    api.add_user(THAO, first_name="Thảo")
    async with webhook_with(shared_parts(REDIS_URL, prefix=prefix, limits=SLOW), api, engine, slots=2) as url:
        await set_webhook(DEFAULT_TOKEN, url, secret="s3cret-for-tests", api_base_url=api.base_url)
        await api.say(HER, "gặp nhân viên")
        await api.say(HER, "/privacy")
        await api.press(HER, VI("privacy.btn_erase"))
        await api.wait_for(lambda: pack("priv", "ok", 1) in api.last(THAO).callback_data)
        assert await _traces(redis, prefix)  # her send count is there now
        # A worker killed while handling her chat leaves its lock until the lease runs out.
        await redis.lock(f"{prefix}lock:telegram:{HER}", timeout=60).acquire()

        await api.press(THAO, pack("priv", "ok", 1))
        await api.press(THAO, VI("privacy.btn_erase_for_good", request=1))
        await api.wait_for(1 + len(api.sent(HER)), chat_id=HER)  # "your data was erased"

        assert await _no_traces_within(redis, prefix, seconds=10) == []

"""Webhook mode leans on Redis only as a fast path: with Redis down updates are kept, handled once, never lost;
with Redis up an ingress in one process wakes the workers of another; updates given up on can be listed and retried."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import ClientSession, web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.adapters.aiogram_adapter.webhook import aiogram_processing
from bot.cli import app
from bot.core.engine import Engine
from bot.core.redis_store import RedisWakeups, SharedParts, shared_parts
from bot.webhook.ingress import Ingress
from bot.webhook.queue import WebhookQueue
from bot.webhook.serve import serve
from bot.webhook.worker import WorkerLoop
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import InboxUpdate, LogDraft
from crm_core.services.inbox import MAX_ATTEMPTS
from tests.bot.conftest import engine
from tests.scale.conftest import REDIS_URL
from tests.scale.test_webhook import (
    LAN,
    LOG,
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

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: every Redis call is refused
DEAD_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/chatcrm"  # likewise for PostgreSQL


@contextlib.asynccontextmanager
async def webhook_with(parts: SharedParts, api: FakeBotApi, engine: Engine, *, slots: int) -> AsyncIterator[str]:
    """Serve an ingress (and `slots` workers) on the given shared parts, as `chatcrm bot --webhook` does."""
    parts.use_in(engine)
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        process = None
        if slots:
            process = await stack.enter_async_context(aiogram_processing(
                engine, DEFAULT_TOKEN, api.base_url, limiter=parts.limiter))
        task = asyncio.create_task(serve(
            WebhookQueue(engine_sessionmaker(engine)), process=process, listen=("127.0.0.1", port), path="/tg/hook",
            secret=SECRET, slots=slots, recent=parts.recent, stop=stop, wakeups=parts.wakeups,
            redis_ping=parts.redis.ping if parts.redis else None))
        await until_serving(url)
        try:
            yield url
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)
            await parts.close()


async def health(url: str) -> tuple[int, dict[str, str]]:
    async with ClientSession() as client, client.get(url.split("/tg/")[0] + "/healthz") as response:
        return response.status, dict(await response.json())


async def test_a_worker_with_redis_down_still_handles_each_update_once(api: FakeBotApi, engine: Engine) -> None:
    async with webhook_with(shared_parts(DEAD_REDIS, prefix="chatcrm-test:dead:"), api, engine, slots=4) as url:
        update = text_update(81, LAN, LOG)
        assert await post(url, update) == 200
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
        assert await post(url, update) == 200  # Telegram's retry: the engine's dedupe still drops it
        await until_inbox_empty(engine)
    assert await count(engine, LogDraft) == 1
    assert len([m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]) == 1
    assert api.problems == []


async def test_an_ingress_with_redis_down_keeps_updates_and_says_so_on_healthz(api: FakeBotApi,
                                                                               engine: Engine) -> None:
    async with webhook_with(shared_parts(DEAD_REDIS, prefix="chatcrm-test:dead:"), api, engine, slots=0) as url:
        assert await post(url, text_update(91, LAN, LOG)) == 200
        assert await post(url, text_update(91, LAN, LOG)) == 200
        assert await post(url, text_update(92, LAN, "a2", message_id=2)) == 200
        assert await health(url) == (200, {"status": "ok", "database": "ok", "redis": "down"})
    assert await count(engine, InboxUpdate) == 2


async def test_an_ingress_whose_database_is_down_answers_503_so_telegram_retries() -> None:
    missing = create_engine(DEAD_DATABASE)
    runner = web.AppRunner(Ingress(WebhookQueue(create_sessionmaker(missing)), secret=SECRET).app("/tg/hook"))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/tg/hook"
    try:
        assert await post(url, text_update(93, LAN, LOG)) == 503
        assert await health(url) == (503, {"status": "down", "database": "down"})
    finally:
        await runner.cleanup()
        await missing.dispose()


async def test_a_worker_in_another_process_is_woken_by_the_ingresss_publish(
        api: FakeBotApi, engine: Engine, redis: Redis, prefix: str) -> None:
    handled: asyncio.Queue[str] = asyncio.Queue()

    async def process(payload: str) -> None:
        await handled.put(payload)

    # A poll an hour apart: only the wake-up can bring the update to this worker within the test.
    worker = WorkerLoop(WebhookQueue(engine_sessionmaker(engine)), process, idle_wait_s=3600,
                        wakeups=RedisWakeups(Redis(connection_pool=redis.connection_pool), prefix=prefix))
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(worker.listening.wait(), timeout=10)
        async with webhook_with(shared_parts(REDIS_URL, prefix=prefix), api, engine, slots=0) as url:
            assert await post(url, text_update(101, LAN, LOG)) == 200
            payload = await asyncio.wait_for(handled.get(), timeout=30)
        assert json.loads(payload)["update_id"] == 101
    finally:
        await worker.stop()
        await running


async def test_parked_updates_are_listed_and_handed_back_by_the_cli(
        migrated_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    queue = WebhookQueue(sessionmaker)
    await queue.keep(key="201", chat_key=str(LAN), payload=json.dumps(text_update(201, LAN, LOG)))
    await queue.keep(key="202", chat_key="2002", payload=json.dumps(text_update(202, 2002, LOG)))
    for _ in range(MAX_ATTEMPTS):  # failed three times: claimed and given back
        taken = await queue.claim(worker="w", limit=1, lease_s=60)
        await queue.release([item.id for item in taken], worker="w")

    def chatcrm(*args: str) -> tuple[int, str]:
        env = {"CHATCRM_HOME": str(tmp_path), "CHATCRM_DATABASE_URL": migrated_url}
        result = CliRunner().invoke(app, ["webhook", "parked", *args], env=env)
        return result.exit_code, result.stdout

    code, out = await asyncio.to_thread(chatcrm, "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(p["id"], p["chat"], p["attempts"]) for p in listed["parked"]] == [("201", str(LAN), MAX_ATTEMPTS)]
    assert listed["parked"][0]["age_seconds"] >= 0
    assert listed["retried"] == 0

    code, out = await asyncio.to_thread(chatcrm)
    assert code == 0
    assert "201" in out
    assert "202" not in out

    code, out = await asyncio.to_thread(chatcrm, "--retry", "--json")
    assert code == 0
    assert json.loads(out)["retried"] == 1
    assert json.loads((await asyncio.to_thread(chatcrm, "--json"))[1])["parked"] == []
    taken = await queue.claim(worker="w", limit=5, lease_s=60)
    assert sorted(item.key for item in taken) == ["201", "202"]

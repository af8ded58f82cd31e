"""Webhook mode over real HTTP: the ingress keeps each update before its 200, workers handle them in order per chat.

Telegram (the local Bot API server) delivers to the ingress with the secret it was given by
`setWebhook`; the workers hand kept updates to the aiogram adapter and the real engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters.aiogram_adapter.webhook import aiogram_processing
from bot.commands import run_telegram
from bot.core.channel import ChannelIO
from bot.core.engine import Engine
from bot.core.limits import Limits, LocalRateLimiter, Window
from bot.core.messages import Inbound, Reply
from bot.core.recent import LocalRecentUpdates
from bot.webhook.bot_api import WebhookIsSet, set_webhook
from bot.webhook.ingress import SECRET_HEADER
from bot.webhook.queue import WebhookQueue
from bot.webhook.serve import serve
from crm_core.config import Settings
from crm_core.models import InboxUpdate, LogDraft
from tests.bot.conftest import engine
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

__all__ = ["engine"]

LAN, TUAN = 1001, 1002
SECRET = "s3cret-for-tests"
LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"
ROOMY = Limits(per_chat=Window(100, 1.0), overall=Window(1000, 1.0))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(TUAN, first_name="Tuấn", language_code="vi")
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def webhook_mode(api: FakeBotApi, engine: Engine, *, slots: int = 4, lease_s: float = 60.0,
                       set_hook: bool = True, drain_timeout_s: float = 10.0) -> AsyncIterator[str]:
    """Run an ingress (and `slots` workers) on a free port; point the Bot API at it like `chatcrm webhook set`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    queue = WebhookQueue(engine_sessionmaker(engine))
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        process = None
        if slots:
            process = await stack.enter_async_context(aiogram_processing(
                engine, DEFAULT_TOKEN, api.base_url, limiter=LocalRateLimiter(ROOMY)))
        task = asyncio.create_task(serve(queue, process=process, listen=("127.0.0.1", port), path="/tg/hook",
                                         secret=SECRET, slots=slots, recent=LocalRecentUpdates(), lease_s=lease_s,
                                         stop=stop, drain_timeout_s=drain_timeout_s))
        await until_serving(url)
        if set_hook:
            await set_webhook(DEFAULT_TOKEN, url, secret=SECRET, api_base_url=api.base_url)
        try:
            yield url
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


def engine_sessionmaker(engine: Engine) -> async_sessionmaker[AsyncSession]:
    return engine._sessionmaker  # the test's own database, which the engine writes to


async def until_serving(url: str) -> None:
    health = url.split("/tg/")[0] + "/healthz"
    async with asyncio.timeout(10), ClientSession() as client:
        while True:
            with contextlib.suppress(OSError):
                async with client.get(health) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.02)


async def post(url: str, update: dict[str, object], *, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with ClientSession() as client, client.post(url, json=update, headers=headers) as response:
        return response.status


def text_update(update_id: int, chat_id: int, text: str, *, message_id: int = 1) -> dict[str, object]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(datetime.now(tz=UTC).timestamp()), "text": text,
        "chat": {"id": chat_id, "type": "private", "first_name": "Lan"}, "from": user}}


async def count(engine: Engine, table: type[InboxUpdate] | type[LogDraft]) -> int:
    async with engine_sessionmaker(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_delivery_without_the_right_secret_is_refused_and_nothing_is_kept(api: FakeBotApi,
                                                                                  engine: Engine) -> None:
    async with webhook_mode(api, engine, slots=0, set_hook=False) as url:
        assert await post(url, text_update(7, LAN, LOG), secret="wrong") == 401
        assert await post(url, text_update(8, LAN, LOG), secret=None) == 401
        assert await count(engine, InboxUpdate) == 0
        assert await post(url, text_update(9, LAN, LOG)) == 200
        assert await count(engine, InboxUpdate) == 1  # kept before the 200; no worker here to take it


async def test_the_same_update_delivered_twice_is_handled_once(api: FakeBotApi, engine: Engine) -> None:
    async with webhook_mode(api, engine, set_hook=False) as url:
        update = text_update(41, LAN, LOG)
        assert await asyncio.gather(post(url, update), post(url, update)) == [200, 200]
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
        assert await post(url, update) == 200  # a late retry, after it was handled
        await until_inbox_empty(engine)
    assert await count(engine, LogDraft) == 1
    assert len([m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]) == 1
    assert api.problems == []


async def until_inbox_empty(engine: Engine) -> None:
    async with asyncio.timeout(30):
        while await count(engine, InboxUpdate):  # noqa: ASYNC110 - another process's database: no event to wait on
            await asyncio.sleep(0.05)


async def test_telegrams_deliveries_are_kept_then_handled(api: FakeBotApi, engine: Engine) -> None:
    async with webhook_mode(api, engine):
        api.send_text(LAN, LOG)
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
    assert all(200 <= status < 300 for _, status in api.webhook_deliveries)
    assert [m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]
    assert api.problems == []


async def test_one_chats_updates_are_handled_in_order_while_another_chat_proceeds(
        api: FakeBotApi, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    release_first = asyncio.Event()
    events: list[str] = []
    handle = engine.handle

    async def recorded(inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        events.append(f"start {inbound.chat_id} {inbound.text}")
        if inbound.text == "a1":
            await release_first.wait()
        events.append(f"end {inbound.chat_id} {inbound.text}")
        return await handle(inbound, io=io)

    monkeypatch.setattr(engine, "handle", recorded)
    async with webhook_mode(api, engine, set_hook=False) as url:
        for update in (text_update(1, LAN, "a1", message_id=1), text_update(2, LAN, "a2", message_id=2),
                       text_update(3, TUAN, "b1", message_id=3)):
            assert await post(url, update) == 200
        await wait_until(lambda: f"end {TUAN} b1" in events)
        assert f"start {LAN} a2" not in events  # held behind a1, not run beside it
        release_first.set()
        await wait_until(lambda: f"end {LAN} a2" in events)
        await until_inbox_empty(engine)
    lan_events = [e for e in events if f" {LAN} " in e]
    assert lan_events == [f"start {LAN} a1", f"end {LAN} a1", f"start {LAN} a2", f"end {LAN} a2"]


async def wait_until(predicate: object, timeout_s: float = 30.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - a safety-net poll of state the workers change
            await asyncio.sleep(0.02)


async def test_an_update_kept_by_an_ingress_alone_is_handled_when_a_worker_starts(api: FakeBotApi,
                                                                                  engine: Engine) -> None:
    async with webhook_mode(api, engine, slots=0, set_hook=False) as url:
        assert await post(url, text_update(51, LAN, LOG)) == 200
    assert api.sent(LAN) == []
    async with webhook_mode(api, engine, set_hook=False):
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
    assert await count(engine, LogDraft) == 1


async def test_an_update_a_worker_died_holding_is_handled_once_its_lease_runs_out(api: FakeBotApi,
                                                                                  engine: Engine) -> None:
    queue = WebhookQueue(engine_sessionmaker(engine))
    await queue.keep(key="61", chat_key=str(LAN), payload=json.dumps(text_update(61, LAN, LOG)))
    dead = await queue.claim(worker="killed-worker", limit=5, lease_s=1.0)  # claimed, then kill -9: never released
    assert [item.key for item in dead] == ["61"]
    async with webhook_mode(api, engine, set_hook=False, lease_s=5.0):
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
    assert await count(engine, LogDraft) == 1


async def test_a_worker_stopped_mid_update_gives_it_back_and_the_next_start_handles_it(
        api: FakeBotApi, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    never = asyncio.Event()

    async def stuck(inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        await never.wait()
        return []

    monkeypatch.setattr(engine, "handle", stuck)
    async with webhook_mode(api, engine, set_hook=False, drain_timeout_s=0.1) as url:
        assert await post(url, text_update(71, LAN, LOG)) == 200
        await wait_until_claimed(engine)
    monkeypatch.undo()
    assert await count(engine, InboxUpdate) == 1
    async with webhook_mode(api, engine, set_hook=False):
        await api.wait_for(1, chat_id=LAN)
        await until_inbox_empty(engine)
    assert await count(engine, LogDraft) == 1


async def wait_until_claimed(engine: Engine) -> None:
    async with asyncio.timeout(30):
        while True:
            async with engine_sessionmaker(engine)() as session:
                if await session.scalar(select(func.count()).select_from(InboxUpdate)
                                        .where(InboxUpdate.claimed_by.is_not(None))):
                    return
            await asyncio.sleep(0.05)


async def test_polling_refuses_while_a_webhook_is_set(api: FakeBotApi) -> None:
    await set_webhook(DEFAULT_TOKEN, "https://crm.example.com/tg/hook", secret=SECRET, api_base_url=api.base_url)
    config = Settings(telegram_bot_token=DEFAULT_TOKEN, telegram_api_url=api.base_url)
    with pytest.raises(WebhookIsSet) as refused:
        await run_telegram(config)
    assert "https://crm.example.com/tg/hook" in str(refused.value)
    assert "\n" not in str(refused.value)  # one line for the operator
    assert api.webhook_url == "https://crm.example.com/tg/hook"  # refused, and not deleted
    assert not [r for r in api.requests if r.method == "getUpdates"]

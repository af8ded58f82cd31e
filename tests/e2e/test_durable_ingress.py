"""Nothing typed is lost: a polled update is kept before Telegram is told it arrived (aiogram and PTB alike).

Long polling confirms a whole batch with the next getUpdates, whether or not its updates were
handled. The bot keeps each batch in its store first; an update a stopped (or crashed) process did
not finish is handled when the bot starts again, and a store that cannot keep a batch holds the
confirmation back until it can.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.core.channel import ChannelIO
from bot.core.engine import Engine
from bot.core.messages import Inbound, Reply
from crm_core.models import InboxUpdate, LogDraft
from tests.conftest import OpenServices
from tests.support.bot_harness import Framework, RunBot, handled, run_bot
from tests.support.fake_bot_api import FakeBotApi

LAN = 1001
LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        yield server


async def kept_count(open_services: OpenServices) -> int:
    async with open_services() as services:
        return int(await services.session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


async def drafts_count(open_services: OpenServices) -> int:
    async with open_services() as services:
        return int(await services.session.scalar(select(func.count()).select_from(LogDraft)) or 0)


async def test_an_update_confirmed_while_the_bot_stops_is_handled_when_it_starts_again(running: RunBot,
        api: FakeBotApi, engine: Engine, open_services: OpenServices, monkeypatch: pytest.MonkeyPatch) -> None:
    never = asyncio.Event()

    async def stuck(inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        await never.wait()  # the process goes down while this update is being handled
        return []

    monkeypatch.setattr(engine, "handle", stuck)
    async with running(api, engine, drain_timeout_s=0.1):
        update_id = api.send_text(LAN, LOG)
        await api.wait_confirmed(update_id)  # Telegram will not send it again
    assert api.sent(LAN) == []
    assert await kept_count(open_services) == 1
    monkeypatch.undo()

    async with running(api, engine) as tg:
        await api.wait_for(1, chat_id=LAN)
        await handled(tg)

    previews = [m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]
    assert len(previews) == 1
    assert await drafts_count(open_services) == 1
    assert await kept_count(open_services) == 0  # forgotten once handled
    assert api.problems == []


@pytest.mark.parametrize(("before", "after"), [("aiogram", "ptb"), ("ptb", "aiogram")])
async def test_an_update_left_by_one_framework_is_handled_by_the_other(
        before: Framework, after: Framework, api: FakeBotApi, engine: Engine, open_services: OpenServices,
        monkeypatch: pytest.MonkeyPatch) -> None:
    never = asyncio.Event()

    async def stuck(inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        await never.wait()
        return []

    monkeypatch.setattr(engine, "handle", stuck)
    async with run_bot(api, engine, framework=before, drain_timeout_s=0.1):
        await api.wait_confirmed(api.send_text(LAN, LOG))
    monkeypatch.undo()
    async with open_services() as services:
        [kept] = await services.session.scalars(select(InboxUpdate.payload))
    assert json.loads(kept)["message"]["from"]["id"] == LAN  # the Bot API's own shape, whichever framework kept it

    async with run_bot(api, engine, framework=after) as tg:
        await api.wait_for(1, chat_id=LAN)
        await handled(tg)

    [preview] = api.sent(LAN)
    assert "Hòa Phát" in (preview.text or "")
    assert await kept_count(open_services) == 0
    assert api.problems == []


async def test_a_store_that_cannot_keep_the_batch_holds_the_confirmation_back(running: RunBot,
        api: FakeBotApi, engine: Engine, open_services: OpenServices, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = engine.keep_updates
    refusals: list[int] = []

    async def busy_twice(channel: str, updates: Sequence[tuple[str, str]]) -> None:
        if updates and len(refusals) < 2:
            refusals.append(len(api.calls("getUpdates")))
            raise OperationalError("INSERT INTO inbox", {}, Exception("database is locked"))
        await keep(channel, updates)

    monkeypatch.setattr(engine, "keep_updates", busy_twice)
    async with running(api, engine) as tg:
        update_id = api.send_text(LAN, LOG)
        await api.wait_confirmed(update_id)
        await handled(tg)
        # While the store refused, the bot did not poll again, so nothing was confirmed unkept.
        assert len(refusals) == 2
        assert refusals[0] == refusals[1]

    assert len([m for m in api.sent(LAN) if "Hòa Phát" in (m.text or "")]) == 1
    assert await drafts_count(open_services) == 1

"""The local Bot API server people try the bot with by hand (README, "Try the bot over a local Bot API server").

The real `chatcrm bot` entry (`run_telegram`) polls it over HTTP, and the test plays the user only through
the /sim HTTP API, as `python -m tests.support.local_bot_api say/tap/show` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.commands import add_user, collect_stats, run_telegram
from bot.texts import Texts
from crm_core.config import Settings
from tests.support.local_bot_api import LocalBotApi

LAN = 1001
LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"
VI = Texts("vi")


@pytest.fixture
async def server() -> AsyncIterator[LocalBotApi]:
    async with LocalBotApi(port=0) as api:  # an ephemeral port here; people run it on 8081
        yield api


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@contextlib.asynccontextmanager
async def chatcrm_bot(config: Settings) -> AsyncIterator[None]:
    """Run what `chatcrm bot` runs, for the length of a block."""
    task = asyncio.create_task(run_telegram(config))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sim(http: ClientSession, server: LocalBotApi, path: str, body: dict[str, Any] | None = None) -> Any:
    call = http.post(server.base_url + path, json=body) if body is not None else http.get(server.base_url + path)
    async with call as response:
        answer = await response.json()
        assert response.status == 200, answer
        return answer


def labels(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in message["buttons"] for button in row]


async def test_a_salesperson_logs_a_call_and_saves_it_through_the_sim_api(
    server: LocalBotApi, http: ClientSession, tmp_path: Path
) -> None:
    config = Settings(home=tmp_path / "home", telegram_bot_token=server.token, telegram_api_url=server.base_url)
    await add_user(config, name="Lan", role="sales", telegram_id=LAN, language="vi")
    async with chatcrm_bot(config):
        sent = await sim(http, server, "/sim/send", {"chat_id": LAN, "text": LOG, "first_name": "Lan",
                                                     "wait": 60, "quiet": 0.2})
        [card] = sent["replies"]
        assert labels(card)[:3] == [VI("btn.save"), VI("btn.edit"), VI("btn.cancel")]
        assert card["buttons"][0][0]["n"] == 1  # what `tap 1001 1` presses

        tapped = await sim(http, server, "/sim/tap", {"chat_id": LAN, "button": "1", "wait": 60, "quiet": 0.2})
        assert tapped["pressed"] == VI("btn.save")

        async with asyncio.timeout(30):  # a safety net: the bot answers the tap first, then saves and edits
            while True:
                chat = await sim(http, server, f"/sim/chat/{LAN}")
                saved = chat["messages"][-1]
                if VI("btn.undo") in labels(saved):
                    break
                await asyncio.sleep(0.1)
    assert [(m["from"], m["message_id"]) for m in chat["messages"]] == [("user", 1), ("bot", card["message_id"])]
    assert saved["edited"]
    assert VI("btn.save") not in labels(saved)
    assert (await collect_stats(config))["interactions"] == 1
    assert (await sim(http, server, "/sim/problems"))["problems"] == []


async def test_a_bot_with_another_token_is_refused_like_telegram_does(server: LocalBotApi, http: ClientSession) -> None:
    async with http.post(f"{server.base_url}/bot42:AAnotTheServersToken/getMe") as response:
        assert response.status == 401
        assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_a_button_is_pressed_by_its_number_or_a_loose_part_of_its_label(
    server: LocalBotApi, http: ClientSession
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "✅ Lưu", "callback_data": "log:v1:save:7"},
                                     {"text": "✖️ Hủy", "callback_data": "log:v1:cancel:7"}]]}
    async with http.post(f"{server.base_url}/bot{server.token}/sendMessage",
                         json={"chat_id": LAN, "text": "Lưu?", "reply_markup": keyboard}) as response:
        assert response.status == 200

    by_part = await sim(http, server, "/sim/tap", {"chat_id": LAN, "button": "luu"})
    by_number = await sim(http, server, "/sim/tap", {"chat_id": LAN, "button": 2})
    async with http.post(f"{server.base_url}/sim/tap", json={"chat_id": LAN, "button": "3"}) as response:
        missing = await response.json()
        assert response.status == 404

    assert (by_part["pressed"], by_number["pressed"]) == ("✅ Lưu", "✖️ Hủy")
    taps = [u["callback_query"]["data"] for u in server.all_updates]
    assert taps == ["log:v1:save:7", "log:v1:cancel:7"]
    assert [b["text"] for b in missing["buttons"]] == ["✅ Lưu", "✖️ Hủy"]

"""The team from the phone over real HTTP (aiogram and PTB against the local Bot API server), every request
validated against the spec: a role change sets that person's command menu at once (setMyCommands with a chat
scope), and an invite link made with /invite carries the bot's username from getMe and registers whoever
opens it (/start TOKEN), whose menu is set too.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.support.bot_harness import RunBot, handled
from tests.support.fake_bot_api import FakeBotApi

LAN, THAO, NEWCOMER = 1001, 3001, 5005
VI = Texts("vi")


@pytest_asyncio.fixture
async def team_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Engine:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        await services.pipelines.ensure_default()
        await services.users.add(name="Lan", role="sales", telegram_id=LAN)
        await services.users.add(name="Thảo", role="admin", telegram_id=THAO)
    return Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                  render_reminder=reminder_reply)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.add_user(LAN, first_name="Lan", language_code="vi")
        server.add_user(THAO, first_name="Thảo", language_code="vi")
        server.add_user(NEWCOMER, first_name="Mai", last_name="Anh", language_code="vi")
        yield server


def _chat_menu(api: FakeBotApi, chat_id: int) -> list[dict[str, Any]]:
    """Return the commands of the latest setMyCommands for one chat's scope (LookupError: none yet)."""
    for request in reversed(api.calls("setMyCommands")):
        scope = request.params.get("scope") or {}
        if scope.get("type") == "chat" and int(scope.get("chat_id", 0)) == chat_id:
            return list(request.params["commands"])
    raise LookupError("no menu for that chat yet")


async def test_a_role_change_sets_that_persons_menu_without_a_restart(running: RunBot, api: FakeBotApi,
                                                                      team_engine: Engine) -> None:
    async with running(api, team_engine) as tg:
        before = {c["command"] for c in _chat_menu(api, LAN)}  # set at start
        assert "import" not in before  # a salesperson does not bring spreadsheets in
        await api.say(THAO, "/role Lan manager")
        await handled(tg)
        told = await api.wait_for(lambda: [m for m in api.sent(LAN) if m.text], chat_id=LAN)
        assert told[-1].text == VI("team.role_changed_you", role=VI("team.role.manager"))
        after = {c["command"] for c in await api.wait_for(
            lambda: _chat_menu(api, LAN) if "import" in str(_chat_menu(api, LAN)) else None)}
        assert {"import", "export", "summary", "deals"} <= after
        assert "invite" not in after
    assert api.problems == []


async def test_an_invite_link_names_the_bot_and_registers_whoever_opens_it(running: RunBot, api: FakeBotApi,
                                                                         team_engine: Engine) -> None:
    async with running(api, team_engine) as tg:
        [made] = await api.say(THAO, "/invite sales")
        found = re.search(rf"https://t\.me/{api.bot_username}\?start=([A-Za-z0-9_-]+)", made.text or "")
        assert found, made.text
        [welcome] = await api.say(NEWCOMER, f"/start {found.group(1)}")
        await handled(tg)
        assert welcome.text == VI("team.joined", name="Mai Anh", role=VI("team.role.sales"))
        menu = await api.wait_for(lambda: _chat_menu(api, NEWCOMER))
        assert "deals" in {c["command"] for c in menu}
        told = await api.wait_for(lambda: [m for m in api.sent(THAO) if m.text and "Mai Anh" in m.text],
                                  chat_id=THAO)
        assert told[-1].text == VI("team.joined_admin", name="Mai Anh", role=VI("team.role.sales"))
        [again] = await api.say(LAN, f"/start {found.group(1)}")
        assert again.text == VI("errors.conflict_already_registered", name="Lan")
    assert api.problems == []

"""A salesperson's one-line dialogs (a note after "Add a note", a typed push time) end on any command and expire:
a call log sent after /deals, or hours later, is read as a log — never saved as a note or answered "bad time"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import LogDraft
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
CALL_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"
OPENERS = {"note": pack("nba", "note", 1), "typed time": pack("pset", "ask", "digest")}


async def _drafts(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return len(list(await session.scalars(select(LogDraft.id))))


@pytest.mark.parametrize("dialog", sorted(OPENERS))
@pytest.mark.parametrize("left_by", ["a command", "time"])
async def test_a_call_log_after_a_command_or_a_long_pause_is_a_log(
        lan: ChatDriver, clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession], dialog: str,
        left_by: str) -> None:
    await lan.tap(OPENERS[dialog])
    if left_by == "a command":
        await lan.say("/deals")
    else:
        clock.advance(timedelta(minutes=Settings().admin_dialog_minutes + 1))

    await lan.say(CALL_LOG)

    assert VI("nba.note_saved") not in lan.text
    assert await _drafts(sessionmaker) == 1

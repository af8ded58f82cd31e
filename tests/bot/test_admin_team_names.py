"""Admins name colleagues as they call them (issue 15 review): /role and /deactivate find people by their full
name, by their given name alone when it is one active colleague's (Telegram names "Bình Nguyễn", Vietnamese
names "Nguyễn Thị Lan"), accents and case ignored; a name that is nobody's says so and points at /users; roles
may be said in Vietnamese ("quản lý", "bán hàng", "quản trị")."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.services import Services
from crm_core.understanding.roles import split_role
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    """Thảo, the admin; Bình joined by invite under his Telegram name, Nguyễn Thị Hoa as Vietnamese write it."""
    async with UnitOfWork(sessionmaker) as uow:
        users = Services.build(uow.session, now=clock.now()).users
        await users.add(name="Thảo", role="admin", telegram_id=3001)
        await users.add(name="Bình Nguyễn", role="sales", telegram_id=3002)
        await users.add(name="Nguyễn Thị Hoa", role="sales", telegram_id=3003)
    return ChatDriver(engine, "3001")


@pytest.mark.parametrize("typed", ["/role binh manager", "/role Bình Nguyễn manager", "/role BÌNH quản lý",
                                   "/role binh nguyen Quản Lý"])
async def test_role_finds_a_colleague_by_given_or_full_name_and_takes_vietnamese_role_words(
        thao: ChatDriver, typed: str) -> None:
    await thao.say(typed)
    assert thao.text == VI("team.role_changed", name="Bình Nguyễn", before=VI("team.role.sales"),
                           role=VI("team.role.manager"))


async def test_deactivate_finds_a_vietnamese_name_by_its_given_name(thao: ChatDriver) -> None:
    await thao.say("/deactivate hoa")
    await thao.press(VI("team.btn_confirm"))
    assert thao.text.startswith(VI("team.deactivated", name="Nguyễn Thị Hoa"))


@pytest.mark.parametrize("command", ["/role Peter quản lý", "/deactivate Peter"])
async def test_a_name_that_is_nobodys_says_so_and_points_at_users(thao: ChatDriver, command: str) -> None:
    await thao.say(command)
    assert thao.text == VI("errors.unknown_user", name="Peter")


async def test_a_given_name_two_colleagues_share_names_them_both(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        users = Services.build(uow.session, now=clock.now()).users
        other = await users.add(name="Trần Bình", role="sales", telegram_id=3004)
        first = await users.by_name("Bình Nguyễn")
    assert first is not None
    await thao.say("/role binh manager")
    assert thao.text == VI("errors.invalid_input_several_users", name="binh",
                           people=f"#{first.id} Bình Nguyễn, #{other.id} Trần Bình", first=first.id)


@pytest.mark.parametrize(("text", "expected"), [
    ("Peter quản lý", ("Peter", "manager")),
    ("Peter manager", ("Peter", "manager")),
    ("Lan bán hàng", ("Lan", "sales")),
    ("Nguyễn Thị Lan nhân viên bán hàng", ("Nguyễn Thị Lan", "sales")),
    ("Hà quản trị", ("Hà", "admin")),
    ("Hà", None),
    ("quản lý", None),
    ("Hà boss", None),
])
def test_role_words_are_read_from_the_end_of_the_command(text: str, expected: tuple[str, str] | None) -> None:
    assert split_role(text) == expected

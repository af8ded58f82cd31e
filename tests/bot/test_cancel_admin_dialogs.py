"""/cancel in an admin's dialog (issue 15 review, item 9): the command ends the dialog before it runs, and /cancel
then says what it cancelled (the prompt edit, the gap answer, the stage's value), never "nothing in progress".
Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import LANGUAGES, Texts
from crm_core.assets import PROMPTS_DIR
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.ports import Ports
from crm_core.prompting import PromptLibrary
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import TEST_NOW

VI = Texts("vi")


@pytest_asyncio.fixture
async def library() -> PromptLibrary:
    return PromptLibrary(PROMPTS_DIR)


@pytest_asyncio.fixture
async def thao(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
               library: PromptLibrary) -> AsyncIterator[ChatDriver]:
    """Thảo, an admin, in a private chat with the bot."""
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Thảo", role="admin", telegram_id=3001)
    engine = Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                    render_reminder=reminder_reply, ports=Ports(prompts=library))
    yield ChatDriver(engine, "3001")


async def _dialog(sessionmaker: async_sessionmaker[AsyncSession]) -> str | None:
    async with UnitOfWork(sessionmaker) as uow:
        state = await Services.build(uow.session, now=TEST_NOW).state.get("telegram", "3001", "3001")
    return state[0] if state else None


async def _in_dialog(sessionmaker: async_sessionmaker[AsyncSession], name: str, data: dict[str, object]) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=TEST_NOW).state.set("telegram", "3001", "3001", name, data)


def test_every_admin_dialog_says_in_both_languages_what_cancel_ended() -> None:
    admin_dialogs = [name for name, route in ROUTER.states.items() if route.admin]

    assert admin_dialogs
    for language in LANGUAGES:
        assert [n for n in admin_dialogs if not Texts(language).has(f"common.dialog_cancelled.{n}")] == []


async def test_cancel_during_a_prompt_edit_says_the_edit_was_cancelled(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], library: PromptLibrary) -> None:
    await thao.say("/prompt faq_answer")
    await thao.press(VI("prompts.btn_edit"))

    [reply] = await thao.say("/cancel")

    assert reply.text == VI("common.dialog_cancelled.prompt_edit", name="faq_answer")
    assert await _dialog(sessionmaker) is None
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_cancel_while_a_new_prompt_waits_for_save_says_the_edit_was_cancelled(
        thao: ChatDriver, library: PromptLibrary) -> None:
    await thao.say("/prompt faq_answer")
    await thao.press(VI("prompts.btn_edit"))
    await thao.say("Trả lời bằng {language}, chỉ dựa vào:\n{context}\nCâu hỏi: {question}")

    [reply] = await thao.say("/cancel")

    assert reply.text == VI("common.dialog_cancelled.prompt_confirm", name="faq_answer")
    assert library.get("faq_answer").ref == "faq_answer@1"


async def test_cancel_while_a_stage_value_is_awaited_says_the_stage_is_unchanged(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await thao.say("/pipelines")
    await thao.press("Bán hàng chung")
    await thao.press("Báo giá")
    await thao.press(VI("pipes.btn_rename"))

    [reply] = await thao.say("/cancel")

    assert reply.text == VI("common.dialog_cancelled.pipe_input")
    assert await _dialog(sessionmaker) is None


@pytest.mark.parametrize("dialog", ["gap_answer", "gap_confirm"])
async def test_cancel_while_a_gap_answer_is_awaited_says_it_was_not_added(
        thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], dialog: str) -> None:
    await _in_dialog(sessionmaker, dialog, {"key": "0123456789ab", "answer": "Có giao hàng ạ."})

    [reply] = await thao.say("/cancel")

    assert reply.text == VI(f"common.dialog_cancelled.{dialog}")
    assert await _dialog(sessionmaker) is None


async def test_cancel_with_nothing_in_progress_still_says_so(thao: ChatDriver) -> None:
    [reply] = await thao.say("/cancel")

    assert reply.text == VI("common.nothing_to_cancel")

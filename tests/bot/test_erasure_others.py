"""An erasure takes the customer out of other people's records without damaging them (issue 11, attacker review).

Someone else's record keeps every name that is not hers as written: a two-word given name ("Bích Ngọc") names
many people, and a longer name holding hers ("Trần Bích Ngọc") is someone else. Her phone numbers and e-mail
addresses go however they are written, those she only typed in chat too. Another customer's update waiting in
the inbox is never lost for naming her.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.markers import ERASED
from crm_core.models import AuditEntry, Contact, InboxUpdate, Interaction, LogDraft, Task, User
from crm_core.services.inbox import InboxQueue
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
CHAT_ID = "555001"
PHONE = "0912345678"


@pytest_asyncio.fixture
async def thao(support_engine: Engine) -> ChatDriver:
    """Thảo, admin."""
    return ChatDriver(support_engine, "3001")


async def _approve(customer: ChatDriver, thao: ChatDriver, name: str) -> None:
    await customer.say("/privacy", display_name=name)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")


async def _note_on_hung(open_services: OpenServices, *summaries: str) -> int:
    """Lan's notes on Hùng, another customer of hers; return his id."""
    async with open_services() as services:
        lan_id = await services.session.scalar(select(User.id).where(User.name == "Lan"))
        hung = await services.directory.create_contact("Trần Văn Hùng", company_id=None, owner_id=lan_id,
                                                       phone="0987000111")
        now = services.now
        services.session.add_all([Interaction(kind="note", contact_id=hung.id, owner_id=lan_id, occurred_at=now,
                                              created_at=now, summary=summary) for summary in summaries])
        return hung.id


async def _notes_of(sessionmaker: async_sessionmaker[AsyncSession], contact_id: int) -> list[str]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Interaction.summary).where(Interaction.contact_id == contact_id)
                                           .order_by(Interaction.id)))


async def test_someone_whose_name_holds_her_two_word_name_keeps_her_notes_and_her_audit_trail(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer, lan = ChatDriver(support_engine, CHAT_ID), ChatDriver(support_engine, "1001")
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Bích Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Bích Ngọc")
    call = "Gọi chị Trần Bích Ngọc bên Hòa Phát, sđt 0977 111 222, muốn 6 ghế AP-C300"
    await lan.say(call)
    await lan.press(VI("btn.save"))
    async with sessionmaker() as session:
        tran = (await session.scalars(select(Contact).where(Contact.name == "Trần Bích Ngọc"))).one()
    tran_notes = await _notes_of(sessionmaker, tran.id)

    await _approve(customer, thao, "Bích Ngọc")

    async with sessionmaker() as session:
        tran_now = await session.get(Contact, tran.id)
        created = (await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "contact", AuditEntry.entity_id == str(tran.id),
            AuditEntry.action == "record.create"))).one()
    assert tran_now is not None
    assert (tran_now.name, tran_now.erased_at) == ("Trần Bích Ngọc", None)
    assert await _notes_of(sessionmaker, tran.id) == tran_notes
    assert any("Trần Bích Ngọc" in note for note in tran_notes)
    assert created.after is not None
    assert created.after["name"] == "Trần Bích Ngọc"


async def test_in_other_peoples_notes_only_her_full_name_goes_never_a_longer_name_that_holds_it(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, CHAT_ID)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Nguyễn Thị Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Nguyễn Thị Ngọc")
    hung_id = await _note_on_hung(open_services, "Gọi Nguyễn Thị Ngọc: hẹn thứ 6",
                                  "Chị Trần Nguyễn Thị Ngọc bên Nhà Xinh cũng hỏi ghế",
                                  "Ngọc và Bích Ngọc đều hỏi giá")

    await _approve(customer, thao, "Nguyễn Thị Ngọc")

    assert await _notes_of(sessionmaker, hung_id) == [
        f"Gọi {ERASED}: hẹn thứ 6", "Chị Trần Nguyễn Thị Ngọc bên Nhà Xinh cũng hỏi ghế",
        "Ngọc và Bích Ngọc đều hỏi giá"]


async def test_her_phone_leaves_other_peoples_notes_however_it_is_written_and_a_longer_number_stays(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, CHAT_ID)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Bích Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Bích Ngọc")
    written = {"sđt0912345678": f"sđt{ERASED}", "ĐT.0912345678": f"ĐT.{ERASED}", "0912  345 678": ERASED,
               "(091) 234-5678": f"({ERASED}", "0912/345/678": ERASED, "0084 912 345 678": ERASED,
               "0912–345–678": ERASED, "0912,345,678": ERASED, "０９１２ ３４５ ６７８": ERASED,
               "+84 (912) 345 678": ERASED}
    hung_id = await _note_on_hung(open_services, *(f"Chị giới thiệu: {w}." for w in written),
                                  "Mã đơn 109123456789 đã giao")

    await _approve(customer, thao, "Bích Ngọc")

    assert await _notes_of(sessionmaker, hung_id) == [
        *(f"Chị giới thiệu: {left}." for left in written.values()), "Mã đơn 109123456789 đã giao"]


async def test_a_phone_and_an_email_she_only_typed_in_chat_leave_other_peoples_notes(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, CHAT_ID)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Bích Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Bích Ngọc")
    await customer.say("gặp nhân viên", display_name="Bích Ngọc")
    await customer.say("email mình là bichngoc.home@example.vn, số nhà 0933 444 555", display_name="Bích Ngọc")
    hung_id = await _note_on_hung(open_services, "Chị ấy nhắn bichngoc.home@example.vn, gọi 0933.444.555")

    await _approve(customer, thao, "Bích Ngọc")

    assert await _notes_of(sessionmaker, hung_id) == [f"Chị ấy nhắn {ERASED}, gọi {ERASED}"]


async def test_a_number_another_kept_person_has_stays_in_their_notes(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    # Lan logged Hùng's call with his number; a bot customer of another name shares that same number (a family
    # phone, a shop's mobile) and is erased: the number is Hùng's as much as hers.
    hung_id = await _note_on_hung(open_services, "Gọi anh Hùng sđt 0987 000 111, muốn thêm 20 ghế")
    customer = ChatDriver(support_engine, CHAT_ID)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Bích Ngọc")
    await customer.say(None, shared_phone="0987000111", display_name="Bích Ngọc")

    await _approve(customer, thao, "Bích Ngọc")

    assert await _notes_of(sessionmaker, hung_id) == ["Gọi anh Hùng sđt 0987 000 111, muốn thêm 20 ghế"]
    async with sessionmaker() as session:
        phones = {row[0]: row[1] for row in await session.execute(select(Contact.id, Contact.phone))}
    assert phones[hung_id] == "0987000111"
    assert [phone for contact_id, phone in phones.items() if contact_id != hung_id] == [None]


async def test_another_customers_waiting_update_that_names_her_is_kept_and_hers_goes(
        support_engine: Engine, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    customer = ChatDriver(support_engine, CHAT_ID)
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Nguyễn Thị Bích Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Nguyễn Thị Bích Ngọc")

    def update(update_id: int, chat: int, name: str, text: str) -> str:
        return json.dumps({"update_id": update_id, "message": {
            "message_id": 1, "date": 0, "text": text, "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": name}}}, ensure_ascii=False)

    async with UnitOfWork(sessionmaker) as uow:  # both still waiting in the inbox when the admin approves
        queue, now = InboxQueue(uow.session), clock.now() - timedelta(seconds=1)
        await queue.enqueue("telegram", key="u1", chat_key="4242", now=now,
                            payload=update(1, 4242, "Hoa", "chị Nguyễn Thị Bích Ngọc giới thiệu em, bích ngọc nói"))
        await queue.enqueue("telegram", key="u2", chat_key=CHAT_ID, now=now,
                            payload=update(2, int(CHAT_ID), "Nguyễn Thị Bích Ngọc", "cho mình hỏi thêm"))

    await _approve(customer, thao, "Nguyễn Thị Bích Ngọc")

    async with sessionmaker() as session:
        assert list(await session.scalars(select(InboxUpdate.key))) == ["u1"]


async def test_a_log_saved_onto_her_while_the_approval_runs_is_erased_with_her_not_left_behind(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices, backend: str,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite lets one writer at a time: no log is saved while an erasure runs")
    customer, lan = ChatDriver(support_engine, CHAT_ID), ChatDriver(support_engine, "1001")
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name="Bích Ngọc")
    await customer.say(None, shared_phone=PHONE, display_name="Bích Ngọc")
    await lan.say("Gọi chị Bích Ngọc 0912 345 678, hẹn gọi lại thứ 6")  # the card shows her record
    await customer.say("/privacy", display_name="Bích Ngọc")
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")  # what will be erased; the confirmation below erases
    async with sessionmaker() as session:
        her_id = await session.scalar(select(Contact.id).where(Contact.name == "Bích Ngọc"))
        draft_id = await session.scalar(select(func.max(LogDraft.id)))
    assert her_id is not None
    assert draft_id is not None

    async with open_services() as services:  # Lan saves in another process; Thảo approves before it commits
        lan_user = await services.users.by_name("Lan")
        assert lan_user is not None
        saved = await services.logs.save(draft_id, lan_user, default_task_title="Gọi lại")
        assert saved.contact_id == her_id
        approval = asyncio.create_task(thao.press("Xóa vĩnh viễn"))
        await asyncio.sleep(1)
    await approval

    async with sessionmaker() as session:
        notes = list(await session.scalars(select(Interaction.summary).where(Interaction.contact_id == her_id)))
        open_tasks = list(await session.scalars(select(Task.title).where(Task.contact_id == her_id,
                                                                        Task.done_at.is_(None))))
        her = await session.get(Contact, her_id)
    assert her is not None
    assert her.erased_at is not None
    assert len(notes) >= 2  # her chat and Lan's call
    assert set(notes) == {ERASED}
    assert open_tasks == []

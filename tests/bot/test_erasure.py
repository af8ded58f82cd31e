"""An approved erasure leaves nothing that identifies the customer: no table, no vector store (issue 11, case 5)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import chromadb
import openpyxl
import pytest_asyncio
from chromadb.config import Settings
from sqlalchemy import JSON, String, Text, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.spreadsheets_cli import export_path
from bot.texts import Texts
from crm_core.config import Settings as CrmSettings
from crm_core.markers import ERASED
from crm_core.models import (
    AuditEntry,
    Company,
    Contact,
    Deal,
    DealStageChange,
    Interaction,
    Stage,
    Task,
    Ticket,
    User,
)
from crm_core.models.base import FREE_TEXT, Base
from crm_core.pipelines.reasons import CUSTOMER_ERASED
from crm_core.textnorm import fold
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

NAME = "Nguyễn Thị Bích Ngọc"
PHONE = "0912345678"
EMAIL = "ngoc.nguyen@example.vn"
CHAT_ID = "555001"
VI, EN = Texts("vi"), Texts("en")


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """Ngọc, a customer in a private Telegram chat."""
    return ChatDriver(support_engine, CHAT_ID)


@pytest_asyncio.fixture
async def lan(support_engine: Engine) -> ChatDriver:
    """Lan, salesperson."""
    return ChatDriver(support_engine, "1001")


@pytest_asyncio.fixture
async def quang(support_engine: Engine) -> ChatDriver:
    """Quang, manager."""
    return ChatDriver(support_engine, "2001")


@pytest_asyncio.fixture
async def thao(support_engine: Engine) -> ChatDriver:
    """Thảo, admin."""
    return ChatDriver(support_engine, "3001")


def _traces(*more: str) -> list[re.Pattern[str]]:
    words = [NAME, fold(NAME), PHONE, PHONE[1:], EMAIL, *more, *(fold(w) for w in more)]
    return [re.compile(re.escape(w), re.IGNORECASE) for w in words] + [re.compile(rf"(?<!\d){CHAT_ID}(?!\d)")]


async def _traces_in_tables(sessionmaker: async_sessionmaker[AsyncSession], *more: str) -> list[str]:
    """Every string and JSON value of every table that still names, reaches or numbers the customer."""
    found = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    if any(p.search(text) for p in _traces(*more)):
                        found.append(f"{table.name}.{column.name}: {text}")
    return found


def _traces_in_vectors(home: Path, *more: str) -> list[str]:
    """Every document and metadata value of every Chroma collection that names or reaches the customer."""
    client = chromadb.PersistentClient(path=str(home / "chroma"),
                                       settings=Settings(anonymized_telemetry=False, allow_reset=False))
    found = []
    for collection in client.list_collections():
        stored: Any = client.get_collection(collection.name).get(include=["documents", "metadatas"])
        for doc, meta in zip(stored["documents"], stored["metadatas"], strict=True):
            text = f"{doc} {json.dumps(meta, ensure_ascii=False)}"
            if any(p.search(text) for p in _traces(*more)):
                found.append(f"{collection.name}: {text[:120]}")
    return found


async def test_an_approved_erasure_leaves_no_trace_of_the_customer_in_any_table_or_vector_store(
        customer: ChatDriver, lan: ChatDriver, quang: ChatDriver, thao: ChatDriver, support_engine: Engine,
        sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await customer.say("/lang vi", display_name=NAME)
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)
    await customer.say(None, shared_phone=PHONE, display_name=NAME)
    async with UnitOfWork(sessionmaker) as uow:  # staff wrote down her e-mail
        await uow.session.execute(update(Contact).values(email=EMAIL))
    await customer.say("gặp nhân viên", display_name=NAME)
    await customer.say(f"email mình là {EMAIL}, sđt {PHONE}, tên {NAME}", display_name=NAME)
    await quang.say(f"/ask {NAME} hỏi gì?")  # her conversation is indexed for staff search
    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    before = await _traces_in_tables(sessionmaker)
    for where in ("contacts.name", "contacts.phone", "contacts.email", "tickets.chat_id", "privacy_requests.chat_id",
                  "chat_preferences.user_id", "contact_identities.external_id", "interactions.summary",
                  "outbox.payload"):
        assert any(found.startswith(f"{where}:") for found in before), where
    assert _traces_in_vectors(tmp_path / "history-home") != []

    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")
    for reply in thao.last:  # the channel delivers the notices
        await thao.received(reply)

    assert "đã được xóa" in thao.pushed_to(CHAT_ID)[0].text
    assert await _traces_in_tables(sessionmaker) == []
    assert _traces_in_vectors(tmp_path / "history-home") == []


async def test_after_erasure_her_tickets_are_closed_her_call_back_is_no_longer_due_and_her_name_is_vietnamese(
        customer: ChatDriver, lan: ChatDriver, thao: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)
    await customer.say(None, shared_phone=PHONE, display_name=NAME)
    await customer.say("gặp nhân viên", display_name=NAME)
    async with sessionmaker() as session:
        contact = (await session.scalars(select(Contact))).one()
        call_back = (await session.scalars(select(Task))).one()
        lead_deal = (await session.scalars(select(Deal))).one()
    assert call_back.title == f"Gọi lại khách (liên hệ #{contact.id}) — để lại số qua bot"
    assert lead_deal.title == f"Khách từ bot (liên hệ #{contact.id})"  # no copy of her name to forget later

    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    async with sessionmaker() as session:
        contact = (await session.scalars(select(Contact))).one()
        tasks = list(await session.scalars(select(Task)))
        tickets = list(await session.scalars(select(Ticket)))
    assert contact.name == f"(khách đã xóa dữ liệu, liên hệ #{contact.id})"
    assert [t.done_at is not None for t in tasks] == [True]
    assert [t.status for t in tickets] == ["closed"]
    await lan.say("/tasks")
    assert f"#{contact.id}" not in lan.text


async def test_her_open_lead_deal_is_closed_lost_by_the_approving_admin_because_her_data_was_erased(
        customer: ChatDriver, thao: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)
    await customer.say(None, shared_phone=PHONE, display_name=NAME)  # a lead: a deal opened for her
    async with sessionmaker() as session:
        lead_deal = (await session.scalars(select(Deal))).one()
    assert lead_deal.status == "open"

    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    async with sessionmaker() as session:
        deal = await session.get(Deal, lead_deal.id)
        assert deal is not None
        stage = await session.get(Stage, deal.stage_id)
        move = (await session.scalars(select(DealStageChange).where(DealStageChange.deal_id == deal.id)
                                      .order_by(DealStageChange.id.desc()))).first()
        closes = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "deal.lost", AuditEntry.entity_id == str(deal.id))))
        thao_id = await session.scalar(select(User.id).where(User.name == "Thảo"))
    assert (deal.status, deal.lost_reason, deal.closed_at is not None) == ("lost", CUSTOMER_ERASED, True)
    assert stage is not None
    assert stage.is_lost
    assert move is not None
    assert (move.reason, move.user_id) == (CUSTOMER_ERASED, thao_id)
    assert [(e.actor_id, e.details.get("reason")) for e in closes] == [(thao_id, CUSTOMER_ERASED)]
    await thao.tap(pack("deal", "open", deal.id))
    assert VI("deal.lost_reason_line", reason=VI("lost_reason.customer_erased")) in thao.text
    await thao.say("/lang en")
    await thao.tap(pack("deal", "open", deal.id))
    assert EN("deal.lost_reason_line", reason=EN("lost_reason.customer_erased")) in thao.text


SHORT_NAME = "Vy"
SHORT_PHONE = "0933221100"
SHORT_CHAT = "555002"
TYPED = ("nhà em ở 45 Hoa Lư, Ninh Bình, chiều mai em ở nhà",
         "em cần đổi chiếc ghế mua hôm 12/11 vì tay vịn bị lỏng")


def _raw_files_holding(paths: list[Path], needles: list[str]) -> list[str]:
    """Every file (or file under a folder) whose raw bytes still hold one of `needles`, any case."""
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return sorted(f"{f.name}: {n}" for f in files for n in needles if n.lower().encode() in f.read_bytes().lower())


async def _as_vy_with_a_ticket(vy: ChatDriver, quang: ChatDriver) -> None:
    await vy.say("bàn AP-D120 giá bao nhiêu", display_name=SHORT_NAME)
    await vy.say(None, shared_phone=SHORT_PHONE, display_name=SHORT_NAME)  # a lead, its deal named by contact
    await vy.say("gặp nhân viên", display_name=SHORT_NAME)
    for typed in TYPED:
        await vy.say(typed, display_name=SHORT_NAME)
    await quang.say("/ask khách ở Hoa Lư Ninh Bình")  # her conversation is indexed for staff search
    await vy.say("/privacy", display_name=SHORT_NAME)
    await vy.press("Yêu cầu xóa")


async def test_a_short_name_and_what_she_typed_leave_deal_titles_and_every_message_to_staff_parked_ones_too(
        support_engine: Engine, quang: ChatDriver, thao: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    from crm_core.models import OutboxMessage

    vy = ChatDriver(support_engine, SHORT_CHAT)
    await _as_vy_with_a_ticket(vy, quang)
    async with UnitOfWork(sessionmaker) as uow:  # Lan titled a deal of hers by her name, as staff do
        contact_id = await uow.session.scalar(select(Contact.id).where(Contact.name == SHORT_NAME))
        await uow.session.execute(update(Deal).where(Deal.contact_id == contact_id)
                                  .values(title=f"Ghế cho {SHORT_NAME}"))
    async with UnitOfWork(sessionmaker) as uow:  # one notice about her never arrived and was given up
        await uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == select(func.min(OutboxMessage.id))
                                                              .where(OutboxMessage.payload.is_not(None))
                                                              .scalar_subquery()).values(status="parked"))
    async with sessionmaker() as session:
        titles = list(await session.scalars(select(Deal.title)))
        payloads = [json.dumps(p, ensure_ascii=False) for p in await session.scalars(select(OutboxMessage.payload))]
    assert any(re.search(rf"\b{SHORT_NAME}\b", title) for title in titles)
    assert any(TYPED[0] in p for p in payloads)

    thao.buttons = vy.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    async with sessionmaker() as session:
        titles = list(await session.scalars(select(Deal.title)))
        payloads = [json.dumps(p, ensure_ascii=False) for p in await session.scalars(select(OutboxMessage.payload))]
    assert [t for t in titles if re.search(rf"\b{SHORT_NAME}\b", t)] == []
    assert [p for p in payloads if re.search(rf"\b{SHORT_NAME}\b|{SHORT_PHONE}|{SHORT_CHAT}", p)] == []
    assert [p for p in payloads if any(typed[:30] in p for typed in TYPED)] == []


async def test_erasure_leaves_no_copy_in_the_raw_files_even_when_the_vector_store_failed_at_approval(
        support_engine: Engine, quang: ChatDriver, thao: ChatDriver, tmp_path: Path, backend: str,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    from crm_core.services.privacy import purge_freed_pages

    hai = ChatDriver(support_engine, "555003")  # another customer, whose conversation staff can still search
    await hai.say("gặp nhân viên", display_name="Hải")
    await hai.say("công ty mình ở 12 Trần Phú, Đà Nẵng, cần 3 tủ hồ sơ", display_name="Hải")
    vy = ChatDriver(support_engine, SHORT_CHAT)
    await _as_vy_with_a_ticket(vy, quang)
    chroma = tmp_path / "history-home" / "chroma"
    needles = [f"{SHORT_NAME} ", SHORT_PHONE, SHORT_CHAT, *(t[:30] for t in TYPED)]
    assert _raw_files_holding([chroma], needles) != []
    history: Any = support_engine.ports.history
    store = history._chroma.store("history")
    store.delete = lambda **_: (_ for _ in ()).throw(RuntimeError("chroma down for a minute"))

    thao.buttons = vy.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")
    del store.delete  # Chroma is back
    await quang.say("/ask khách ở Hoa Lư Ninh Bình")

    assert "Hoa Lư" not in quang.text
    assert _raw_files_holding([chroma], needles) == []
    await quang.say("/ask khách ở Trần Phú Đà Nẵng")
    assert "12 Trần Phú" in quang.text  # the index the erasure rewrote still answers
    if backend == "sqlite":
        engine: Any = sessionmaker.kw["bind"]
        await purge_freed_pages(engine)
        database = Path(engine.url.database)
        assert _raw_files_holding([database, *database.parent.glob(f"{database.name}-*")], needles) == []


async def test_an_approval_through_the_bot_leaves_no_copy_in_the_database_file_or_its_write_ahead_log(
        support_engine: Engine, quang: ChatDriver, thao: ChatDriver, backend: str,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    vy = ChatDriver(support_engine, SHORT_CHAT)
    await _as_vy_with_a_ticket(vy, quang)
    engine: Any = sessionmaker.kw["bind"]
    database = Path(engine.url.database or "")
    needles = [f"{SHORT_NAME} ", SHORT_PHONE, *(t[:30] for t in TYPED)]
    if backend == "sqlite":
        assert _raw_files_holding([database, *database.parent.glob(f"{database.name}-*")], needles) != []

    thao.buttons = vy.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    assert "đã được xóa" in thao.pushed_to(SHORT_CHAT)[0].text
    if backend == "sqlite":  # PostgreSQL keeps no such files for us to read; the purge does nothing there
        assert _raw_files_holding([database, *database.parent.glob(f"{database.name}-*")], needles) == []


async def test_the_history_index_is_rebuilt_once_the_erasure_has_committed_never_under_its_write_lock(
        support_engine: Engine, quang: ChatDriver, thao: ChatDriver, tmp_path: Path,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    vy = ChatDriver(support_engine, SHORT_CHAT)
    await _as_vy_with_a_ticket(vy, quang)
    history: Any = support_engine.ports.history
    loop = asyncio.get_running_loop()
    names_seen: list[str | None] = []
    async with sessionmaker() as session:
        contact_id = await session.scalar(select(Contact.id).where(Contact.phone == SHORT_PHONE))

    async def her_name_as_others_read_it() -> str | None:  # another connection: only what is committed
        async with sessionmaker() as session:
            return await session.scalar(select(Contact.name).where(Contact.id == contact_id))

    erase_raw = history._chroma.erase_raw

    def erase_raw_seeing_the_database(prefix: str, ids: list[str]) -> None:  # runs in the flow's worker thread
        names_seen.append(asyncio.run_coroutine_threadsafe(her_name_as_others_read_it(), loop).result(60))
        erase_raw(prefix, ids)

    history._chroma.erase_raw = erase_raw_seeing_the_database
    thao.buttons = vy.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    assert names_seen == [f"(khách đã xóa dữ liệu, liên hệ #{contact_id})"]  # committed: no write of it still open
    chroma = tmp_path / "history-home" / "chroma"
    assert _raw_files_holding([chroma], [SHORT_PHONE, *(t[:30] for t in TYPED)]) == []


# --- the same person recorded twice; the audit trail's before and after; how an erased record reads -------------

GIVEN_AS = "Bích Ngọc"  # the name she gives the bot
WRITTEN_AS = "0912.345.678"  # her number as Lan writes it


async def _asks_and_shares_her_number(customer: ChatDriver) -> None:
    await customer.say("ghế AP-C300 giá bao nhiêu", display_name=GIVEN_AS)
    await customer.say(None, shared_phone=PHONE, display_name=GIVEN_AS)


async def _approve_her_request(customer: ChatDriver, thao: ChatDriver) -> None:
    await customer.say("/privacy", display_name=GIVEN_AS)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")
    for reply in thao.last:  # the channel delivers the notices
        await thao.received(reply)


async def _contacts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Contact]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Contact).order_by(Contact.id)))


async def test_another_record_of_her_number_is_erased_with_her_and_a_colleague_at_that_company_stays(
        customer: ChatDriver, lan: ChatDriver, quang: ChatDriver, thao: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await _asks_and_shares_her_number(customer)
    # Lan met her at a new company, and kept her as a new person there rather than the bot's customer
    await lan.say(f"Gặp chị {NAME} bên Nhà Xinh, sđt {WRITTEN_AS}, muốn 10 bàn AP-D120, gửi báo giá thứ 6")
    await lan.press("Người mới")
    await lan.press(VI("btn.save"))
    await lan.say("Gọi anh Trần Văn Hùng bên Nhà Xinh, sđt 0987 000 111, hẹn gửi catalogue thứ 6")
    await lan.press(VI("btn.save"))
    await quang.say(f"/ask chị {GIVEN_AS} cần gì?")  # both records' conversations are indexed for staff search
    holding = [c.name for c in await _contacts(sessionmaker) if c.phone and c.phone.endswith(PHONE[1:])]
    assert sorted(holding) == sorted([GIVEN_AS, NAME])
    assert _traces_in_vectors(tmp_path / "history-home", GIVEN_AS, WRITTEN_AS) != []

    await _approve_her_request(customer, thao)

    assert await _traces_in_tables(sessionmaker, GIVEN_AS, WRITTEN_AS) == []
    assert _traces_in_vectors(tmp_path / "history-home", GIVEN_AS, WRITTEN_AS) == []
    contacts = await _contacts(sessionmaker)
    assert [c.id for c in contacts if c.erased_at is not None] == [c.id for c in contacts if "đã xóa" in c.name]
    assert len([c for c in contacts if c.erased_at is not None]) == 2
    hung = next(c for c in contacts if c.name == "Trần Văn Hùng")  # same company, another number: someone else
    assert (hung.erased_at, hung.phone) == (None, "+84987000111")
    async with sessionmaker() as session:
        assert await session.scalar(select(Company.name).where(Company.id == hung.company_id)) == "Nhà Xinh"


async def test_someone_else_at_her_number_under_another_name_is_not_erased_with_her(
        customer: ChatDriver, lan: ChatDriver, thao: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _asks_and_shares_her_number(customer)
    # her mother, reached on the same family phone: another person, whose records are not hers to erase
    await lan.say(f"Gọi cô Trần Thị Mai bên Nhà Xinh, sđt {WRITTEN_AS}, muốn 4 ghế AP-C200")
    await lan.press("Người mới")
    await lan.press(VI("btn.save"))
    assert "Trần Thị Mai" in [c.name for c in await _contacts(sessionmaker)]

    await _approve_her_request(customer, thao)

    contacts = await _contacts(sessionmaker)
    mai = next(c for c in contacts if c.name == "Trần Thị Mai")
    assert mai.erased_at is None
    assert len([c for c in contacts if c.erased_at is not None]) == 1


async def test_her_number_once_typed_on_someone_else_leaves_the_audit_trails_before_and_after(
        customer: ChatDriver, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _asks_and_shares_her_number(customer)
    async with UnitOfWork(sessionmaker) as uow:  # staff wrote down her e-mail
        await uow.session.execute(update(Contact).values(email=EMAIL))
    async with open_services() as services:  # her number and e-mail typed on Hùng by mistake, then corrected
        hung = await services.directory.create_contact("Trần Văn Hùng", company_id=None, owner_id=None, phone=PHONE,
                                                       email=EMAIL)
        await services.session.flush()
        hung_id = hung.id
    for field, value in (("phone", "0987000111"), ("email", "hung@example.vn")):
        async with open_services() as services:  # each change audited with the fields before and after
            fixed = await services.session.get(Contact, hung_id)
            assert fixed is not None
            setattr(fixed, field, value)
    trail = await _audit_of(sessionmaker, hung_id)
    assert any(PHONE in text for text in trail)
    assert any(EMAIL in text for text in trail)

    await _approve_her_request(customer, thao)

    trail = await _audit_of(sessionmaker, hung_id)
    assert [text for text in trail if PHONE[1:] in text or EMAIL in text] == []
    assert any("Trần Văn Hùng" in text for text in trail)  # his own details stay in the trail
    hung_now = next(c for c in await _contacts(sessionmaker) if c.id == hung_id)
    assert (hung_now.name, hung_now.phone, hung_now.erased_at) == ("Trần Văn Hùng", "0987000111", None)


async def _audit_of(sessionmaker: async_sessionmaker[AsyncSession], contact_id: int) -> list[str]:
    """The audit trail of one contact: each entry's fields before and after, as JSON."""
    async with sessionmaker() as session:
        rows = (await session.execute(select(AuditEntry.before, AuditEntry.after).where(
            AuditEntry.entity == "contact", AuditEntry.entity_id == str(contact_id)))).all()
    return [json.dumps([before, after], ensure_ascii=False) for before, after in rows]


async def test_an_erased_customers_record_reads_in_the_readers_language_and_says_customer_once(
        support_engine: Engine, lan: ChatDriver, quang: ChatDriver, thao: ChatDriver,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    vy = ChatDriver(support_engine, SHORT_CHAT)
    await _as_vy_with_a_ticket(vy, quang)
    async with sessionmaker() as session:
        contact_id = await session.scalar(select(Contact.id).where(Contact.phone == SHORT_PHONE))
    thao.buttons = vy.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    await lan.tap(pack("cust", "person", contact_id))

    assert VI("customer.by_erased_customer", contact=contact_id) in lan.text  # her own messages, labelled once
    assert VI("privacy.erased_text") in lan.text
    assert VI("customer.by_customer", name=VI("privacy.erased_name", contact=contact_id)) not in lan.text
    assert ERASED not in lan.text
    await lan.say("/lang en")
    await lan.tap(pack("cust", "person", contact_id))
    assert EN("privacy.erased_text") in lan.text
    assert ERASED not in lan.text


# --- someone else's records that name her ---------------------------------------------------------------------------

HUNG = "Trần Văn Hùng"  # another customer of Lan's, whom Ngọc introduced
# Every text column that is not free text marked FREE_TEXT, and why the erasure need not read it as such.
NOT_FREE_TEXT = {
    "audit_log.details": "scrubbed on its own rules (Traces.scrub_json)",
    "audit_log.before": "scrubbed on its own rules (Traces.scrub_json)",
    "audit_log.after": "scrubbed on its own rules (Traces.scrub_json)",
    "log_drafts.raw_text": "scrubbed on its own rules (Traces.scrub)",
    "log_drafts.fields": "scrubbed on its own rules (Traces.scrub_json)",
    "outbox.payload": "deleted when it is about her, scrubbed otherwise (Traces)",
    "inbox.payload": "deleted when it is hers (her chat or user id), never for naming her",
    "prompt_versions.template": "an admin's prompt, no customer's words",
    "win_rate_snapshots.counts": "numbers",
}


async def _lans_records_of_hung_naming_her(open_services: OpenServices) -> int:
    """What Lan logged on Hùng: a note, a call, a task and a deal, each naming Ngọc as staff write her."""
    async with open_services() as services:
        now = services.now
        lan_id = await services.session.scalar(select(User.id).where(User.name == "Lan"))
        hung = await services.directory.create_contact(HUNG, company_id=None, owner_id=lan_id, phone="0987000111")
        stage = (await services.pipelines.default_stages())[0]
        deal_title = f"10 ghế AP-C300 — {NAME} giới thiệu"
        services.session.add_all([
            Interaction(kind="note", contact_id=hung.id, owner_id=lan_id, occurred_at=now, created_at=now,
                        summary=f"Anh Hùng do chị {fold(NAME)} giới thiệu, sđt chị ấy 0912 345 678, email "
                                f"{EMAIL.upper()}. Chị Ngọc hẹn thứ 6 qua xem mẫu."),
            Interaction(kind="call", contact_id=hung.id, owner_id=lan_id, occurred_at=now, created_at=now,
                        summary=f"Gọi anh Hùng: muốn 10 ghế như đơn của {NAME.upper()} (+84912345678)"),
            Task(title=f"Gửi báo giá cho {NAME} qua {EMAIL}", contact_id=hung.id, owner_id=lan_id,
                 due_at=now + timedelta(days=1), created_at=now),
            Deal(title=deal_title, title_folded=fold(deal_title), contact_id=hung.id, owner_id=lan_id,
                 stage_id=stage.id, status="open", created_at=now, updated_at=now, stage_changed_at=now)])
        return hung.id


async def test_her_phone_email_and_full_name_leave_other_peoples_records_and_a_bare_given_name_stays(
        customer: ChatDriver, lan: ChatDriver, quang: ChatDriver, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)
    await customer.say(None, shared_phone=PHONE, display_name=NAME)
    async with UnitOfWork(sessionmaker) as uow:  # staff wrote down her e-mail
        await uow.session.execute(update(Contact).where(Contact.phone.is_not(None)).values(email=EMAIL))
    hung_id = await _lans_records_of_hung_naming_her(open_services)
    await quang.say("/ask anh Hùng muốn gì?")  # Hùng's conversation is indexed for staff search
    assert _traces_in_vectors(tmp_path / "history-home") != []

    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    assert await _traces_in_tables(sessionmaker) == []
    assert _traces_in_vectors(tmp_path / "history-home") == []
    async with sessionmaker() as session:
        hung = await session.get(Contact, hung_id)
        notes = list(await session.scalars(select(Interaction.summary).where(Interaction.contact_id == hung_id)
                                           .order_by(Interaction.id)))
        task = (await session.scalars(select(Task).where(Task.contact_id == hung_id))).one()
        deal = (await session.scalars(select(Deal).where(Deal.contact_id == hung_id))).one()
        approved = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.approved"))).one()
    assert hung is not None
    assert (hung.name, hung.phone, hung.erased_at) == (HUNG, "0987000111", None)
    assert notes == [f"Anh Hùng do chị {ERASED} giới thiệu, sđt chị ấy {ERASED}, email {ERASED}. "
                     "Chị Ngọc hẹn thứ 6 qua xem mẫu.",  # a bare given name is someone else's as often as hers
                     f"Gọi anh Hùng: muốn 10 ghế như đơn của {ERASED} ({ERASED})"]
    assert task.title == f"Gửi báo giá cho {ERASED} qua {ERASED}"
    assert (deal.title, deal.title_folded) == (f"10 ghế AP-C300 — {ERASED} giới thiệu",
                                                fold(f"10 ghế AP-C300 — {ERASED} giới thiệu"))
    assert deal.status == "open"  # Hùng's deal, not hers
    assert {table: len(ids) for table, ids in approved.details["rewritten"].items()} == {
        "interactions": 2, "tasks": 1, "deals": 1}

    await lan.tap(pack("cust", "person", hung_id))  # read in the reader's language, never as the marker
    assert f"chị {VI('privacy.erased_inline')} giới thiệu" in lan.text
    assert ERASED not in lan.text
    await lan.say("/tasks")
    assert f"Gửi báo giá cho {VI('privacy.erased_inline')}" in lan.text
    assert ERASED not in lan.text + "".join(b.label for b in lan.buttons)
    await lan.say("/lang en")
    await lan.say("/deals")
    assert f"10 ghế AP-C300 — {EN('privacy.erased_inline')} giới thiệu" in lan.text
    assert ERASED not in lan.text + "".join(b.label for b in lan.buttons)


async def test_a_namesake_keeps_her_name_in_her_own_records_while_the_erased_customers_number_leaves_them(
        customer: ChatDriver, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)
    await customer.say(None, shared_phone=PHONE, display_name=NAME)
    async with open_services() as services:  # another Nguyễn Thị Bích Ngọc, on another number: someone else
        other = await services.directory.create_contact(NAME, company_id=None, owner_id=None, phone="0909888777")
        now = services.now
        services.session.add(Interaction(kind="call", contact_id=other.id, occurred_at=now, created_at=now,
                                         summary=f"Chị {NAME} muốn 4 ghế; người giới thiệu: {PHONE}"))
        other_id = other.id

    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    async with sessionmaker() as session:
        other_now = await session.get(Contact, other_id)
        notes = list(await session.scalars(select(Interaction.summary).where(Interaction.contact_id == other_id)))
    assert other_now is not None
    assert (other_now.name, other_now.erased_at) == (NAME, None)
    assert notes == [f"Chị {NAME} muốn 4 ghế; người giới thiệu: {ERASED}"]


def _cells_of(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
            if cell is not None]


async def test_the_export_reads_what_an_erasure_took_out_in_the_workbooks_language_never_as_the_marker(
        customer: ChatDriver, quang: ChatDriver, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=NAME)  # her words: erased whole
    await customer.say(None, shared_phone=PHONE, display_name=NAME)
    async with UnitOfWork(sessionmaker) as uow:  # staff wrote down her e-mail
        await uow.session.execute(update(Contact).where(Contact.phone.is_not(None)).values(email=EMAIL))
    await _lans_records_of_hung_naming_her(open_services)  # Lan's about Hùng: erased in part
    await customer.say("/privacy", display_name=NAME)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")

    [exported] = await quang.say("/export")  # by chat, in Quang's language
    assert exported.file is not None
    config = CrmSettings(home=tmp_path / "cli-home",
                         database_url=sessionmaker.kw["bind"].url.render_as_string(hide_password=False))
    await export_path(config, tmp_path / "book-en.xlsx", lang="en")  # `chatcrm export --lang en`

    vi_cells, en_cells = _cells_of(Path(exported.file.path)), _cells_of(tmp_path / "book-en.xlsx")
    assert [c for c in vi_cells + en_cells if ERASED in c] == []
    assert VI("privacy.erased_text") in vi_cells
    assert f"Gửi báo giá cho {VI('privacy.erased_inline')} qua {VI('privacy.erased_inline')}" in vi_cells
    assert EN("privacy.erased_text") in en_cells
    assert f"10 ghế AP-C300 — {EN('privacy.erased_inline')} giới thiệu" in en_cells


def test_every_text_column_of_every_table_is_free_text_the_erasure_reads_or_says_why_not() -> None:
    unmarked = {f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables for column in table.columns
                if isinstance(column.type, Text | JSON) and not column.info.get(FREE_TEXT)}

    assert unmarked == set(NOT_FREE_TEXT)

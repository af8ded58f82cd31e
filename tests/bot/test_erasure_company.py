"""A company named after the customer is erased with her; a company that only shares a word of her name is not
(issue 11 item 5, new-user review).

A log that read her full name as a company ("Gọi chị Ngọc Ánh (Phạm Ngọc Ánh) …", before the parser read it as
her name) left a company record named "Phạm Ngọc Ánh": after her erasure nothing may still name her, in any table,
the audit trail, /find or the export. The company takes the erased placeholder (its other links stay) or goes
when nothing else links to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest_asyncio
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.models import AuditEntry, Company, Contact, Deal, Interaction, Task, User
from crm_core.models.base import Base
from crm_core.textnorm import fold
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
FULL = "Phạm Ngọc Ánh"
PHONE = "0938765432"
EMAIL = "ngocanh.pham@example.vn"
CHAT_ID = "555031"


@pytest_asyncio.fixture
async def thao(support_engine: Engine) -> ChatDriver:
    """Thảo, admin."""
    return ChatDriver(support_engine, "3001")


async def _approve(customer: ChatDriver, thao: ChatDriver) -> None:
    await customer.say("/privacy", display_name=FULL)
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    await thao.press("Xóa vĩnh viễn")
    for reply in thao.last:  # the channel delivers the notices
        await thao.received(reply)


async def _company_named_after_her(open_services: OpenServices, name: str = FULL) -> int:
    """What the old parser made of Lan's log: her full name saved as a new company, her record at it."""
    async with open_services() as services:
        lan_id = await services.session.scalar(select(User.id).where(User.name == "Lan"))
        company = await services.directory.create_company(name, owner_id=lan_id)
        contact = (await services.session.scalars(select(Contact).where(Contact.phone.is_not(None)))).one()
        contact.company_id = company.id
        services.session.add(Interaction(kind="call", contact_id=contact.id, company_id=company.id, owner_id=lan_id,
                                         occurred_at=services.now, created_at=services.now,
                                         summary=f"Gọi chị Ngọc Ánh ({FULL}) sđt {PHONE} email {EMAIL}"))
        return company.id


def _names_her(text: str) -> bool:
    return any(re.search(re.escape(w), t, re.IGNORECASE) for w in (FULL, fold(FULL), PHONE[1:], EMAIL)
               for t in (text, fold(text)))


async def _traces_in_tables(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every string and JSON value of every table that still names or reaches her."""
    found = []
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    if _names_her(text):
                        found.append(f"{table.name}.{column.name}: {text}")
    return found


def _cells_naming_her(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [f"{sheet.title}: {cell}" for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
            for cell in row if cell is not None and _names_her(str(cell))]


async def _customer_with_her_number(customer: ChatDriver) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name=FULL)
    await customer.say(None, shared_phone=PHONE, display_name=FULL)


async def test_a_company_named_after_her_and_linked_to_nobody_else_goes_with_her(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer, quang = ChatDriver(support_engine, CHAT_ID), ChatDriver(support_engine, "2001")
    await _customer_with_her_number(customer)
    company_id = await _company_named_after_her(open_services)
    await quang.say("/find Ngọc Ánh")
    assert FULL in quang.text
    assert any("companies.name" in found for found in await _traces_in_tables(sessionmaker))

    await _approve(customer, thao)

    assert await _traces_in_tables(sessionmaker) == []
    async with sessionmaker() as session:
        assert await session.get(Company, company_id) is None
    await quang.say("/find Ngọc Ánh")
    assert FULL not in quang.text
    await thao.say("/audit today")
    assert not _names_her(thao.text)
    [exported] = await quang.say("/export")
    assert exported.file is not None
    assert _cells_naming_her(Path(exported.file.path)) == []


async def test_a_company_named_after_her_that_others_link_to_takes_the_placeholder_and_keeps_their_links(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer, quang = ChatDriver(support_engine, CHAT_ID), ChatDriver(support_engine, "2001")
    await _customer_with_her_number(customer)
    company_id = await _company_named_after_her(open_services, f"Chị {FULL}")
    async with open_services() as services:  # a colleague of hers and his call, task and deal at that company
        lan_id = await services.session.scalar(select(User.id).where(User.name == "Lan"))
        hung = await services.directory.create_contact("Trần Văn Hùng", company_id=company_id, owner_id=lan_id,
                                                       phone="0987000111")
        now = services.now
        services.session.add(Interaction(kind="call", contact_id=hung.id, company_id=company_id, owner_id=lan_id,
                                         occurred_at=now, created_at=now, summary="Anh Hùng hỏi 6 ghế AP-C300"))
        services.session.add(Task(title="Gửi catalogue cho anh Hùng", contact_id=hung.id, company_id=company_id,
                                  owner_id=lan_id, due_at=now, created_at=now))
        hung_id = hung.id
    async with open_services() as services:
        await services.deals.create(title="6 ghế AP-C300 cho anh Hùng", company_id=company_id, contact_id=hung_id,
                                    owner_id=lan_id, stage_key="quote", amount=None, currency=None, quantity=6)

    await _approve(customer, thao)

    assert await _traces_in_tables(sessionmaker) == []
    async with sessionmaker() as session:
        company = await session.get(Company, company_id)
        assert company is not None
        assert company.name == VI("privacy.erased_company", company=company_id)
        assert company.name_folded == fold(company.name)
        assert company.phone is None
        assert await session.scalar(select(Contact.company_id).where(Contact.id == hung_id)) == company_id
        assert list(await session.scalars(select(Interaction.summary).where(
            Interaction.company_id == company_id, Interaction.contact_id == hung_id))) == ["Anh Hùng hỏi 6 ghế AP-C300"]
        assert list(await session.scalars(select(Task.title).where(Task.company_id == company_id))) == [
            "Gửi catalogue cho anh Hùng"]
        assert list(await session.scalars(select(Deal.title).where(Deal.company_id == company_id))) == [
            "6 ghế AP-C300 cho anh Hùng"]
        trail = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "company", AuditEntry.entity_id == str(company_id))))
    assert trail
    await quang.say("/find Ngọc Ánh")
    assert FULL not in quang.text
    await thao.say("/audit today")
    assert not _names_her(thao.text)
    [exported] = await quang.say("/export")
    assert exported.file is not None
    assert _cells_naming_her(Path(exported.file.path)) == []


async def test_a_company_that_only_shares_her_given_name_or_holds_a_longer_name_stays(
        support_engine: Engine, thao: ChatDriver, open_services: OpenServices,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, CHAT_ID)
    await _customer_with_her_number(customer)
    async with open_services() as services:
        for name in ("Ngọc Ánh", "Trần Phạm Ngọc Ánh", "Phạm Ngọc Ánh Furniture"):
            await services.directory.create_company(name, owner_id=None)

    await _approve(customer, thao)

    async with sessionmaker() as session:
        names = set(await session.scalars(select(Company.name)))
    assert {"Ngọc Ánh", "Trần Phạm Ngọc Ánh", "Phạm Ngọc Ánh Furniture"} <= names

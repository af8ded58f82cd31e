"""A lost deal's reason reaches people by its name in their language ("Giá cao"), never by its key ("price"): the
deal card, the log's reply (tests/bot/test_deal_lifecycle.py), /audit (here), the workbook
(tests/core/spreadsheets/test_lost_reasons.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
TITLE = "Hòa Phát — 20 bộ bàn họp"


@pytest.fixture
async def thao(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> ChatDriver:
    """Thảo, admin: she reads the audit trail."""
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Thảo", role="admin", telegram_id=3001)
    return ChatDriver(engine, "3001")


async def _lans_deal(open_services: OpenServices) -> int:
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        company = await services.directory.create_company("Hòa Phát", owner_id=lan.id)
        deal = await services.deals.create(title=TITLE, owner_id=lan.id, company_id=company.id, contact_id=None,
                                           stage_key="negotiation", amount=Decimal(200_000_000), currency="VND",
                                           quantity=20)
        return deal.id


async def test_audit_says_why_a_deal_was_lost_by_the_reasons_name(
        lan: ChatDriver, thao: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _lans_deal(open_services)
    await lan.tap(pack("deal", "move", deal_id, "lost"))
    await lan.press(VI("lost_reason.price"))

    await thao.say("/audit")

    assert VI("audit.did.deal_lost", actor="Lan", target=TITLE, reason=VI("lost_reason.price")) in thao.text
    assert "price" not in thao.text


async def test_audit_says_a_changed_lost_reason_by_its_name(
        lan: ChatDriver, thao: ChatDriver, open_services: OpenServices, clock: FrozenClock) -> None:
    deal_id = await _lans_deal(open_services)
    async with open_services() as services:
        lan_user = await services.users.by_name("Lan")
        assert lan_user is not None
        await services.audit.record(actor="Lan", actor_id=lan_user.id, action="record.update", entity="deal",
                                    entity_id=deal_id, before={"lost_reason": "price"},
                                    after={"lost_reason": "competitor"})

    await thao.say("/audit")

    assert VI("audit.change", field=VI("audit.field.lost_reason"), before=VI("lost_reason.price"),
              after=VI("lost_reason.competitor")) in thao.text

"""One visibility rule for deals, whatever command shows them (crm_core.policy.deal_view).

Tuấn (sales) owns a deal at Hòa Phát Nội Thất, with a call note and a task on it. Lan (sales) asks about
that customer with /customer, /deal, /find and /ask under each setting of CHATCRM_DEAL_VISIBILITY:
`own` (colleagues' deals do not appear), `team` (the default: "#21 · Tuấn phụ trách", no amount, no notes,
no history) and `all` (in full). Companies and contacts are everyone's. Quang (manager) sees everything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.callbacks import pack
from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import Contact, Deal, Interaction
from crm_core.policy import DealVisibility
from crm_core.ports import Ports
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import STAFF, ChatDriver

VI = Texts("vi")
COMPANY = "Hòa Phát Nội Thất"
AMOUNT = "135.000.000 ₫"
TITLE = "Hòa Phát Nội Thất — 185 bộ bàn AP-D120"
NOTE = "Anh Minh chê giá cao, ngân sách chỉ 80 triệu cho bàn họp"
TASK = "Gửi lại báo giá bàn AP-D120"
COMPANY_NOTE = "Công ty chuyển văn phòng sang Cầu Giấy từ tháng 12"
PHONE = "+84901234567"


@dataclass
class Seeded:
    """What Tuấn owns at the customer."""

    deal_id: int
    company_id: int


async def _engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, visibility: DealVisibility,
                  ports: Ports | None = None) -> Engine:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        for name, role, telegram_id in STAFF:
            await services.users.add(name=name, role=role, telegram_id=telegram_id)
    return Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(deal_visibility=visibility),
                  router=ROUTER, render_reminder=reminder_reply, ports=ports or Ports())


async def _seed(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Seeded:
    async with UnitOfWork(sessionmaker) as uow:
        services = Services.build(uow.session, now=clock.now())
        tuan = await services.users.by_name("Tuấn")
        assert tuan is not None
        company = await services.directory.create_company(COMPANY, owner_id=tuan.id)
        contact = await services.directory.create_contact("Minh", company_id=company.id, owner_id=tuan.id,
                                                          phone=PHONE)
        deal = await services.deals.create(title=TITLE, owner_id=tuan.id, company_id=company.id,
                                           contact_id=contact.id, stage_key="quote", amount=Decimal(135_000_000),
                                           currency="VND", quantity=185)
        uow.session.add(Interaction(kind="call", occurred_at=clock.now() - timedelta(hours=2), company_id=company.id,
                                    contact_id=contact.id, deal_id=deal.id, owner_id=tuan.id, summary=NOTE,
                                    source="chat", created_at=clock.now()))
        uow.session.add(Interaction(kind="note", occurred_at=clock.now() - timedelta(hours=1), company_id=company.id,
                                    owner_id=tuan.id, summary=COMPANY_NOTE, source="chat", created_at=clock.now()))
        await services.tasks.create(owner_id=tuan.id, title=TASK, due_at=clock.now() + timedelta(days=1),
                                    deal_id=deal.id, company_id=company.id)
        return Seeded(deal_id=deal.id, company_id=company.id)


@pytest.fixture(params=list(DealVisibility), ids=[v.value for v in DealVisibility])
def visibility(request: pytest.FixtureRequest) -> DealVisibility:
    """The team's setting of this run."""
    return DealVisibility(request.param)


@pytest_asyncio.fixture
async def team_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                      visibility: DealVisibility) -> AsyncIterator[Engine]:
    """An engine under `visibility`; staff Lan, Tuấn (sales) and Quang (manager)."""
    yield await _engine(sessionmaker, clock, visibility)


@pytest_asyncio.fixture
async def seeded(team_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Seeded:
    """Tuấn's deal, call note and task at Hòa Phát Nội Thất, and a note about the company itself."""
    return await _seed(sessionmaker, clock)


def _shows_the_deal_in_full(text: str) -> bool:
    return AMOUNT in text and TITLE in text


# --- /customer ---------------------------------------------------------------------------------------------


async def test_customer_shows_a_colleagues_deal_as_the_setting_says(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say(f"/customer {COMPANY}")

    summary = VI("customer.deal_summary_line", id=seeded.deal_id, owner="Tuấn")
    assert (_shows_the_deal_in_full(lan.text), summary in lan.text) == {
        DealVisibility.OWN: (False, False), DealVisibility.TEAM: (False, True), DealVisibility.ALL: (True, False),
    }[visibility]
    # the notes of the deal follow the deal; its tasks the task rule, as /task (a colleague's are theirs);
    # the company and its people are everyone's
    assert (NOTE in lan.text, TASK in lan.text) == (visibility is DealVisibility.ALL, False)
    assert COMPANY_NOTE in lan.text
    assert "Minh" in lan.text
    assert PHONE in lan.text


async def test_customer_offers_to_open_a_colleagues_deal_only_when_seen_in_full(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say(f"/customer {COMPANY}")

    assert any(f"#{seeded.deal_id}" in b.label for b in lan.buttons) is (visibility is DealVisibility.ALL)


async def test_a_manager_sees_every_deal_in_full_whatever_the_setting(team_engine: Engine, seeded: Seeded) -> None:
    quang = ChatDriver(team_engine, "2001")

    await quang.say(f"/customer {COMPANY}")
    assert _shows_the_deal_in_full(quang.text)
    assert (NOTE in quang.text, TASK in quang.text) == (True, True)

    await quang.say(f"/deal #{seeded.deal_id}")
    assert _shows_the_deal_in_full(quang.text)
    assert NOTE in quang.text


async def test_customer_by_a_persons_number_shows_her_card_as_the_setting_says(
        team_engine: Engine, seeded: Seeded, sessionmaker: async_sessionmaker[AsyncSession],
        visibility: DealVisibility) -> None:
    async with sessionmaker() as session:
        minh = await session.scalar(select(Contact.id).where(Contact.name == "Minh"))
    lan = ChatDriver(team_engine, "1001")
    await lan.tap(pack("cust", "person", minh))
    her_card = lan.text

    await lan.say(f"/customer #{minh}")

    # the card her button opens, with the same checks: Tuấn's deal on her as the setting says, his task his
    assert lan.text == her_card
    assert lan.text.splitlines()[0] == VI("customer.person_header", name="Minh", phone=PHONE, email="—")
    summary = VI("customer.deal_summary_line", id=seeded.deal_id, owner="Tuấn")
    assert (_shows_the_deal_in_full(lan.text), summary in lan.text, NOTE in lan.text, TASK in lan.text) == {
        DealVisibility.OWN: (False, False, False, False), DealVisibility.TEAM: (False, True, False, False),
        DealVisibility.ALL: (True, False, True, False),
    }[visibility]


# --- /deal -------------------------------------------------------------------------------------------------


async def test_deal_by_number_shows_a_colleagues_deal_as_the_setting_says(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    replies = await lan.say(f"/deal #{seeded.deal_id}")

    expected = {
        DealVisibility.OWN: VI("common.not_found"),
        DealVisibility.TEAM: VI("deal.summary_card", id=seeded.deal_id, company=COMPANY, owner="Tuấn"),
    }
    if visibility in expected:
        assert [r.text for r in replies] == [expected[visibility]]
    else:
        assert _shows_the_deal_in_full(lan.text)
        assert NOTE in lan.text  # its history


async def test_deal_by_name_shows_a_colleagues_deal_as_the_setting_says(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say("/deal Hòa Phát")

    if visibility is DealVisibility.OWN:
        assert lan.text == VI("deal.not_found", query="Hòa Phát")
    elif visibility is DealVisibility.TEAM:
        assert lan.text == VI("deal.summary_card", id=seeded.deal_id, company=COMPANY, owner="Tuấn")
        assert AMOUNT not in lan.text
        assert NOTE not in lan.text
    else:
        assert _shows_the_deal_in_full(lan.text)


async def test_a_deal_seen_in_full_is_still_changed_only_by_its_owner(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say(f"/deal #{seeded.deal_id}")

    assert VI("btn.won") not in [b.label for b in lan.buttons]
    assert VI("btn.move_stage") not in [b.label for b in lan.buttons]


# --- /find -------------------------------------------------------------------------------------------------


async def test_find_shows_a_colleagues_company_and_people_whatever_the_setting(
        team_engine: Engine, seeded: Seeded) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say("/find Hòa Phát")
    assert COMPANY in lan.text

    await lan.say("/find Minh")
    assert "Minh" in lan.text
    assert AMOUNT not in lan.text


# --- /ask --------------------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def asking_engine(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, shipped_knowledge: Any,
                        tmp_path: Path, visibility: DealVisibility) -> Engine:
    """An engine under `visibility` whose /ask searches a history index."""
    from crm_core.retrieval import HistoryIndex

    history = HistoryIndex(home=tmp_path / "history-home", embedder=shipped_knowledge.embedder)
    return await _engine(sessionmaker, clock, visibility, Ports(knowledge=shipped_knowledge, history=history))


async def test_ask_finds_a_colleagues_deal_notes_only_when_the_deal_is_seen_in_full(
        asking_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        visibility: DealVisibility) -> None:
    await _seed(sessionmaker, clock)
    lan = ChatDriver(asking_engine, "1001")

    await lan.say("/ask Hòa Phát Nội Thất ngân sách bao nhiêu?")

    assert (NOTE in lan.text) is (visibility is DealVisibility.ALL)
    assert COMPANY_NOTE in lan.text  # about the company, no deal: everyone's


async def test_a_manager_asking_finds_every_note(asking_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession],
                                                 clock: FrozenClock) -> None:
    await _seed(sessionmaker, clock)
    quang = ChatDriver(asking_engine, "2001")

    await quang.say("/ask Hòa Phát Nội Thất ngân sách bao nhiêu?")

    assert NOTE in quang.text


# --- a log's preview ----------------------------------------------------------------------------------------

LOG = "Gọi anh Minh bên Hòa Phát Nội Thất, khách hỏi thêm về thời gian giao hàng"


async def test_a_log_preview_names_a_colleagues_deal_as_the_setting_says(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility) -> None:
    lan = ChatDriver(team_engine, "1001")

    await lan.say(LOG)

    note = VI("log.deal_note", id=seeded.deal_id, owner="Tuấn")
    assert (note in lan.text) is (visibility is not DealVisibility.OWN)
    if visibility is DealVisibility.OWN:
        assert f"#{seeded.deal_id}" not in lan.text
    assert AMOUNT not in lan.text
    assert "185" not in lan.text  # the deal's title


async def test_a_saved_log_never_touches_a_deal_hidden_from_its_writer(
        team_engine: Engine, seeded: Seeded, visibility: DealVisibility,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    lan = ChatDriver(team_engine, "1001")
    await lan.say(LOG)

    await lan.press(VI("btn.save"))

    async with UnitOfWork(sessionmaker) as uow:
        logged = await uow.session.scalar(select(Interaction).where(Interaction.summary.contains("giao hàng")))
        deal = await uow.session.get(Deal, seeded.deal_id)
    assert logged is not None
    assert deal is not None
    assert (deal.amount, deal.status) == (Decimal(135_000_000), "open")
    assert (logged.deal_id == seeded.deal_id) is (visibility is not DealVisibility.OWN)

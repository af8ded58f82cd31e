"""/next in chat: the list with [Done] [Snooze] [Open], suppression until something changes, the managers' views
and who may see what (both backends, fixed clock)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from crm_core.clock import FrozenClock
from crm_core.models import Company, Contact, Deal, NbaOutcome, Stage, User
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

pytestmark = pytest.mark.asyncio


async def _deal(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *, owner: str, company: str,
                stage: str = "quote", days: int = 12, status: str = "open", amount: int = 2_000_000_000) -> int:
    now = clock.now()
    async with UnitOfWork(sessionmaker) as uow:
        s = uow.session
        owner_id = await s.scalar(select(User.id).where(User.name == owner))
        stage_id = await s.scalar(select(Stage.id).where(Stage.key == stage))
        co = Company(name=company, name_folded=company.lower(), created_at=now)
        s.add(co)
        await s.flush()
        person = Contact(name="Minh", name_folded="minh", company_id=co.id, owner_id=owner_id, created_at=now)
        s.add(person)
        await s.flush()
        changed = now - timedelta(days=days)
        row = Deal(title=f"{company} — 200 bộ", title_folded=f"{company.lower()} — 200 bo", company_id=co.id,
                   contact_id=person.id, owner_id=owner_id, stage_id=stage_id, amount=Decimal(amount),
                   currency="VND", status=status, created_at=changed, updated_at=changed, stage_changed_at=changed,
                   closed_at=changed if status != "open" else None)
        s.add(row)
        await s.flush()
        return int(row.id)


@pytest.fixture
async def book(engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> dict[str, int]:
    return {"lan": await _deal(sessionmaker, clock, owner="Lan", company="Hòa Phát"),
            "lost": await _deal(sessionmaker, clock, owner="Lan", company="Đông Hải", stage="lost", status="lost"),
            "tuan": await _deal(sessionmaker, clock, owner="Tuấn", company="Thành Công", amount=3_000_000_000)}


async def test_next_lists_the_quote_with_its_facts_and_the_three_buttons(lan: ChatDriver, book: dict[str, int]
                                                                         ) -> None:
    await lan.say("/next")
    assert "Hòa Phát" in lan.text
    assert "12 ngày" in lan.text
    assert "2.000.000.000" in lan.text
    assert "Thành Công" not in lan.text
    assert "Đông Hải" not in lan.text
    labels = [b.label for b in lan.buttons]
    assert any("Xong" in x for x in labels)
    assert any("Để mai" in x for x in labels)
    assert any("Mở" in x for x in labels)


async def test_done_logs_it_in_one_tap_and_it_stays_away_until_something_changes(
        lan: ChatDriver, book: dict[str, int], sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await lan.say("/next")
    await lan.press("Xong 1")
    assert "Đã ghi lại" in lan.text
    await lan.press("Thêm ghi chú")
    await lan.say("khách hẹn thứ Sáu ký")
    await lan.say("/next")
    assert "Hòa Phát" not in lan.text
    clock.advance(timedelta(days=3))  # nothing changed: still done
    await lan.say("/next")
    assert "Hòa Phát" not in lan.text
    async with UnitOfWork(sessionmaker) as uow:
        outcomes = (await uow.session.execute(select(NbaOutcome.outcome))).scalars().all()
    assert "done" in outcomes
    assert "shown" in outcomes


async def test_snooze_hides_it_until_tomorrow_morning(lan: ChatDriver, book: dict[str, int],
                                                      clock: FrozenClock) -> None:
    await lan.say("/next")
    await lan.press("Để mai 1")
    await lan.say("/next")
    assert "Hòa Phát" not in lan.text
    clock.advance(timedelta(days=1))  # Tuesday 10:00, past 08:00
    await lan.say("/next")
    assert "Hòa Phát" in lan.text


async def test_open_shows_the_deal_card(lan: ChatDriver, book: dict[str, int]) -> None:
    await lan.say("/next")
    await lan.press("Mở 1")
    assert "Hòa Phát — 200 bộ" in lan.text


async def test_a_salesperson_cannot_see_a_colleagues_list(lan: ChatDriver, book: dict[str, int]) -> None:
    await lan.say("/next Tuấn")
    assert "Thành Công" not in lan.text


async def test_a_manager_sees_one_salespersons_list_without_answering_it_and_the_team(
        quang: ChatDriver, book: dict[str, int]) -> None:
    await quang.say("/next Lan")
    assert "Hòa Phát" in quang.text
    assert "Thành Công" not in quang.text
    assert not any("Xong" in b.label for b in quang.buttons)
    await quang.say("/next team")
    assert "Lan" in quang.text
    assert "Tuấn" in quang.text
    assert "Thành Công" in quang.text
    await quang.say("/next stats")
    assert quang.text


async def test_the_next_button_after_a_saved_log_opens_the_list(lan: ChatDriver, book: dict[str, int]) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, khách hẹn tuần sau")
    await lan.press("Lưu")
    assert any("Tiếp theo" in b.label for b in lan.buttons)
    await lan.press("Tiếp theo")
    assert "Lan" in lan.text
    assert "Hòa Phát" not in lan.text

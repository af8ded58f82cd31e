"""Closing a deal (crm_core.flows.deals): confirm, reason, undo, stale and double taps, who may; reassignment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.clock import FrozenClock
from crm_core.errors import Forbidden
from crm_core.flows.deals import (
    CloseQuestion,
    CloseRefused,
    CloseUndone,
    DealClosed,
    DealFlow,
    DealReassigned,
    ReassignQuestion,
    ReassignUnchanged,
    UndoRefused,
)
from crm_core.flows.notices import DealNotice
from crm_core.models import AuditEntry, Deal, DealStageChange, Task
from crm_core.pipelines.reasons import lost_reasons, reason_from_text
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.conftest import OpenServices
from tests.core.conftest import Team

UNDO_MINUTES = 5


@pytest.fixture
def flow(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock):  # type: ignore[no-untyped-def]
    """Return `flow()`: a DealFlow over one committed unit of work at the clock's time."""

    @asynccontextmanager
    async def _open() -> AsyncIterator[DealFlow]:
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=clock.now(), undo_minutes=UNDO_MINUTES)
            yield DealFlow(services=services, tx=uow, undo_minutes=UNDO_MINUTES)

    return _open


async def _deal(open_services: OpenServices, owner: UserOut, *, stage: str = "negotiation") -> int:
    async with open_services() as services:
        company = await services.directory.create_company(f"Hòa Phát {owner.name}", owner_id=owner.id)
        deal = await services.deals.create(title=f"{company.name} — 20 bàn", owner_id=owner.id,
                                           company_id=company.id, contact_id=None, stage_key=stage,
                                           amount=Decimal(200_000_000), currency="VND", quantity=20)
        return deal.id


async def _row(open_services: OpenServices, deal_id: int) -> Deal:
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    return deal


async def _moves(open_services: OpenServices, deal_id: int) -> list[DealStageChange]:
    async with open_services() as services:
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.id)
        return list((await services.session.scalars(query)).all())


async def _audit(open_services: OpenServices, action: str) -> list[AuditEntry]:
    async with open_services() as services:
        return list((await services.session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


# --- closing -----------------------------------------------------------------------------------------------


async def test_asking_to_lose_offers_the_listed_reasons(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        question = await deals.ask_close(team.lan, deal_id, "lost")
    assert isinstance(question, CloseQuestion)
    assert question.reasons == [r.key for r in lost_reasons()] == ["price", "competitor", "no_need", "unreachable"]
    assert question.version == (await _moves(open_services, deal_id))[-1].id


async def test_closing_won_moves_the_deal_and_is_audited(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        closed = await deals.close_deal(team.lan, deal_id, "won")
    assert isinstance(closed, DealClosed)
    assert (closed.deal.status, closed.deal.stage.key, closed.reason) == ("won", "won", None)
    moves = await _moves(open_services, deal_id)
    assert (moves[-1].id, moves[-1].user_id) == (closed.move_id, team.lan.id)
    assert [a.details["from"] for a in await _audit(open_services, "deal.won")] == ["negotiation"]


@pytest.mark.parametrize(("given", "stored"), [("competitor", "competitor"),
                                               ("  khách   dời dự án\nsang năm  ", "khách dời dự án sang năm")])
async def test_a_lost_deal_keeps_its_reason(flow, open_services: OpenServices, team: Team,  # type: ignore[no-untyped-def]
                                            given: str, stored: str) -> None:
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        closed = await deals.close_deal(team.lan, deal_id, "lost", given)
    assert isinstance(closed, DealClosed)
    assert closed.deal.lost_reason == stored
    assert (await _moves(open_services, deal_id))[-1].reason == stored


async def test_closing_twice_closes_once(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        await deals.close_deal(team.lan, deal_id, "won")
    async with flow() as deals:
        again = await deals.close_deal(team.lan, deal_id, "lost", "price")
    assert isinstance(again, CloseRefused)
    assert (again.why, again.deal.status) == ("closed", "won")
    assert len(await _moves(open_services, deal_id)) == 2


async def test_a_confirmation_of_an_older_version_changes_nothing(flow, open_services: OpenServices,  # type: ignore[no-untyped-def]
                                                                  team: Team) -> None:
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        question = await deals.ask_close(team.lan, deal_id, "won")
    assert isinstance(question, CloseQuestion)
    async with open_services() as services:
        await services.deals.move(deal_id, "quote", team.lan)

    async with flow() as deals:
        refused = await deals.close_deal(team.lan, deal_id, "won", version=question.version)

    assert isinstance(refused, CloseRefused)
    assert refused.why == "changed"
    assert (await _row(open_services, deal_id)).status == "open"


async def test_a_close_racing_another_changes_nothing(open_services: OpenServices, team: Team) -> None:
    deal_id = await _deal(open_services, team.lan)
    async with open_services() as services:
        first = await services.closing.mark(deal_id, "won", team.lan)
    async with open_services() as services:
        second = await services.closing.mark(deal_id, "lost", team.lan)
        assert await services.closing.close(second, "lost", team.lan, reason="price") is not None

    async with open_services() as services:
        assert await services.closing.close(first, "won", team.lan, reason=None) is None

    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.lost_reason) == ("lost", "price")


async def test_a_salesperson_cannot_close_a_colleagues_deal(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.minh)
    with pytest.raises(Forbidden):
        async with flow() as deals:
            await deals.close_deal(team.lan, deal_id, "lost", "price")
    assert (await _row(open_services, deal_id)).status == "open"


async def test_a_manager_closes_a_salespersons_deal(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.minh)
    async with flow() as deals:
        assert isinstance(await deals.close_deal(team.boss, deal_id, "won"), DealClosed)


# --- undo --------------------------------------------------------------------------------------------------


async def _closed(flow, deal_id: int, actor: UserOut, outcome: str = "lost") -> DealClosed:  # type: ignore[no-untyped-def]
    async with flow() as deals:
        closed = await deals.close_deal(actor, deal_id, outcome, "price")
    assert isinstance(closed, DealClosed)
    return closed


async def test_undo_restores_the_stage_and_forgets_the_close(flow, open_services: OpenServices, team: Team,  # type: ignore[no-untyped-def]
                                                             clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, team.lan)
    before = await _row(open_services, deal_id)
    clock.advance(timedelta(days=2))
    closed = await _closed(flow, deal_id, team.lan)
    clock.advance(timedelta(minutes=4))

    async with flow() as deals:
        undone = await deals.undo_close(team.lan, deal_id, closed.move_id)

    assert isinstance(undone, CloseUndone)
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason, deal.closed_at) == ("open", before.stage_id, None, None)
    assert deal.stage_changed_at == before.stage_changed_at  # still stalled as long as it was
    assert len(await _moves(open_services, deal_id)) == 1  # the move that opened it
    assert len(await _audit(open_services, "deal.reopen")) == 1


async def test_undo_twice_undoes_once(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    closed = await _closed(flow, deal_id, team.lan)
    async with flow() as deals:
        await deals.undo_close(team.lan, deal_id, closed.move_id)
    async with flow() as deals:
        again = await deals.undo_close(team.lan, deal_id, closed.move_id)
    assert isinstance(again, UndoRefused)
    assert again.why == "done"
    assert len(await _audit(open_services, "deal.reopen")) == 1


async def test_undo_after_the_window_is_refused(flow, open_services: OpenServices, team: Team,  # type: ignore[no-untyped-def]
                                                clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, team.lan)
    closed = await _closed(flow, deal_id, team.lan)
    clock.advance(timedelta(minutes=UNDO_MINUTES, seconds=1))
    async with flow() as deals:
        late = await deals.undo_close(team.lan, deal_id, closed.move_id)
    assert isinstance(late, UndoRefused)
    assert (late.why, late.minutes) == ("too_late", UNDO_MINUTES)
    assert (await _row(open_services, deal_id)).status == "lost"


async def test_undo_after_another_change_is_refused(flow, open_services: OpenServices, team: Team,  # type: ignore[no-untyped-def]
                                                    clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, team.lan)
    closed = await _closed(flow, deal_id, team.lan)
    clock.advance(timedelta(minutes=1))
    async with open_services(now=clock.now()) as services:
        await services.deals.move(deal_id, "won", team.boss)  # a manager corrects the outcome

    async with flow() as deals:
        refused = await deals.undo_close(team.lan, deal_id, closed.move_id)

    assert isinstance(refused, UndoRefused)
    assert refused.why == "changed"
    assert (await _row(open_services, deal_id)).status == "won"


async def test_undo_of_a_colleagues_close_is_refused(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.minh)
    closed = await _closed(flow, deal_id, team.minh)
    with pytest.raises(Forbidden):
        async with flow() as deals:
            await deals.undo_close(team.lan, deal_id, closed.move_id)
    assert (await _row(open_services, deal_id)).status == "lost"


async def test_undo_with_another_deals_move_is_nothing_to_undo(flow, open_services: OpenServices,  # type: ignore[no-untyped-def]
                                                               team: Team) -> None:
    mine, other = await _deal(open_services, team.lan), await _deal(open_services, team.lan)
    await _closed(flow, mine, team.lan)
    closed_other = await _closed(flow, other, team.lan)
    async with flow() as deals:
        refused = await deals.undo_close(team.lan, mine, closed_other.move_id)
    assert isinstance(refused, UndoRefused)
    assert refused.why == "done"
    assert (await _row(open_services, other)).status == "lost"


# --- reassigning -------------------------------------------------------------------------------------------


async def _task(open_services: OpenServices, owner: UserOut, deal_id: int, *, done: bool = False) -> int:
    async with open_services() as services:
        task = await services.tasks.create(owner_id=owner.id, title="Gửi báo giá", due_at=None, deal_id=deal_id)
        await services.session.flush()
        if done:
            await services.tasks.done(task.id, owner)
        return task.id


async def _owners(open_services: OpenServices, *task_ids: int) -> list[int | None]:
    async with open_services() as services:
        return [t.owner_id for t in [await services.session.get(Task, i) for i in task_ids] if t is not None]


async def test_reassigning_moves_the_old_owners_open_tasks_and_tells_both(flow, open_services: OpenServices,  # type: ignore[no-untyped-def]
                                                                          team: Team) -> None:
    deal_id = await _deal(open_services, team.lan)
    open_task, done_task = await _task(open_services, team.lan, deal_id), await _task(open_services, team.lan,
                                                                                        deal_id, done=True)
    async with flow() as deals:
        result = await deals.reassign(team.boss, deal_id, team.minh.id, channel="telegram")

    assert isinstance(result, DealReassigned)
    assert (result.moved_tasks, result.kept_tasks, result.deal.owner_id) == (1, 0, team.minh.id)
    assert await _owners(open_services, open_task, done_task) == [team.minh.id, team.lan.id]
    notices = [(n.kind, n.to.user.name if n.to.user else None) for n in result.notices if isinstance(n, DealNotice)]
    assert notices == [("assigned", "Minh"), ("taken", "Lan")]
    [audit] = await _audit(open_services, "deal.reassign_tasks")
    assert audit.details == {"from": team.lan.id, "to": team.minh.id, "moved": [open_task], "kept": []}


async def test_reassigning_asks_about_tasks_someone_else_holds(flow, open_services: OpenServices,  # type: ignore[no-untyped-def]
                                                               team: Team) -> None:
    deal_id = await _deal(open_services, team.lan)
    bosses = await _task(open_services, team.boss, deal_id)
    async with flow() as deals:
        question = await deals.reassign(team.boss, deal_id, team.minh.id, channel="telegram")
    assert isinstance(question, ReassignQuestion)
    assert [(h.name, h.tasks) for h in question.holders] == [("Hùng", 1)]
    assert (await _row(open_services, deal_id)).owner_id == team.lan.id

    async with flow() as deals:
        kept = await deals.reassign(team.boss, deal_id, team.minh.id, channel="telegram", others="keep")
    assert isinstance(kept, DealReassigned)
    assert (kept.moved_tasks, kept.kept_tasks) == (0, 1)
    assert await _owners(open_services, bosses) == [team.boss.id]


async def test_reassigning_with_others_moves_theirs_too(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    bosses = await _task(open_services, team.boss, deal_id)
    async with flow() as deals:
        moved = await deals.reassign(team.boss, deal_id, team.minh.id, channel="telegram", others="move")
    assert isinstance(moved, DealReassigned)
    assert await _owners(open_services, bosses) == [team.minh.id]


async def test_reassigning_to_the_owner_changes_nothing(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    async with flow() as deals:
        assert isinstance(await deals.reassign(team.boss, deal_id, team.lan.id, channel="telegram"),
                          ReassignUnchanged)
    assert await _audit(open_services, "deal.reassign_tasks") == []


async def test_a_salesperson_cannot_reassign(flow, open_services: OpenServices, team: Team) -> None:  # type: ignore[no-untyped-def]
    deal_id = await _deal(open_services, team.lan)
    with pytest.raises(Forbidden):
        async with flow() as deals:
            await deals.reassign(team.lan, deal_id, team.minh.id, channel="telegram")


# --- reasons named in a log --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "key"), [
    ("Anh Tuấn báo ko mua nữa, mất deal", "no_need"),
    ("khách chê giá cao quá", "price"),
    ("Bên đó chọn đối thủ rồi", "competitor"),
    ("gọi mãi không nghe máy", "unreachable"),
    ("They went with another supplier", "competitor"),
    ("hẹn tuần sau gọi lại", None),
])
def test_a_log_names_a_listed_reason(text: str, key: str | None) -> None:
    assert reason_from_text(text) == key

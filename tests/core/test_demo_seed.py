"""The demo business: believable volumes, every stage, due and overdue work, one fresh home only, reproducible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.db import create_engine, create_sessionmaker, upgrade
from crm_core.demo import DemoSummary, seed_demo
from crm_core.errors import Conflict
from crm_core.models import Company, Contact, Deal, DealStageChange, Interaction, Stage, Task, User
from crm_core.services import Services
from crm_core.textnorm import fold
from crm_core.uow import UnitOfWork
from tests.conftest import TEST_NOW

Sessionmaker = async_sessionmaker[AsyncSession]
SEEDED_TABLES: tuple[Any, ...] = (User, Company, Contact, Deal, DealStageChange, Interaction, Task)


async def _seed(sessionmaker: Sessionmaker, *, seed: int = 7) -> DemoSummary:
    async with UnitOfWork(sessionmaker) as uow:
        return await seed_demo(uow.session, now=TEST_NOW, seed=seed)


async def _count(sessionmaker: Sessionmaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _rows(sessionmaker: Sessionmaker, model: Any) -> list[Any]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


@asynccontextmanager
async def _fresh_home(folder: Path) -> AsyncIterator[Sessionmaker]:
    """Yield a session factory over a freshly migrated SQLite file in `folder`."""
    url = f"sqlite+aiosqlite:///{folder / 't.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _dump(sessionmaker: Sessionmaker) -> dict[str, list[tuple[Any, ...]]]:
    async with sessionmaker() as session:
        dump = {}
        for model in SEEDED_TABLES:
            table: Table = model.__table__
            rows = await session.execute(select(table).order_by(table.c.id))
            dump[table.name] = [tuple(row) for row in rows]
        return dump


async def test_summary_counts_are_in_the_asked_ranges_and_match_the_database(sessionmaker: Sessionmaker) -> None:
    summary = await _seed(sessionmaker)

    counted = {name: await _count(sessionmaker, model) for name, model in (
        ("users", User), ("companies", Company), ("contacts", Contact), ("deals", Deal),
        ("interactions", Interaction), ("tasks", Task))}
    assert counted == {"users": len(summary.users), "companies": summary.companies, "contacts": summary.contacts,
                       "deals": summary.deals, "interactions": summary.interactions, "tasks": summary.tasks}
    assert 45 <= summary.companies <= 55
    assert 100 <= summary.contacts <= 140
    assert 70 <= summary.deals <= 90
    assert 350 <= summary.interactions <= 450
    assert 30 <= summary.tasks <= 80


async def test_team_is_three_salespeople_led_by_lan_a_manager_and_an_admin(sessionmaker: Sessionmaker) -> None:
    summary = await _seed(sessionmaker)

    users = await _rows(sessionmaker, User)
    assert summary.first_salesperson == "Lan"
    assert [u.name for u in users if u.role == "sales"] == summary.salespeople
    assert len(summary.salespeople) == 3
    assert [u.name for u in users if u.role == "manager"] == [summary.manager]
    assert [u.name for u in users if u.role == "admin"] == [summary.admin]
    assert len({u.name_folded for u in users}) == len(users)
    assert {i.external_id for u in users if u.role == "sales" for i in u.identities if i.channel == "telegram"} == {
        "1001", "1002", "1003"}


async def test_every_default_stage_has_deals_and_open_ones_outnumber_closed(sessionmaker: Sessionmaker) -> None:
    summary = await _seed(sessionmaker)

    async with sessionmaker() as session:
        stages = await Services.build(session, now=TEST_NOW).pipelines.default_stages()
        per_stage = dict((await session.execute(
            select(Stage.key, func.count(Deal.id)).join(Deal, Deal.stage_id == Stage.id).group_by(Stage.key))).all())
    assert all(per_stage.get(stage.key, 0) > 0 for stage in stages)
    assert per_stage == {key: count for key, count in summary.deals_by_stage.items() if count}
    closed = per_stage["won"] + per_stage["lost"]
    assert sum(per_stage.values()) - closed > closed


async def test_closed_deals_carry_their_status_and_closing_time(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    async with sessionmaker() as session:
        rows = (await session.execute(select(Deal, Stage).join(Stage, Deal.stage_id == Stage.id))).all()
    for deal, stage in rows:
        expected = "won" if stage.is_won else "lost" if stage.is_lost else "open"
        assert deal.status == expected
        assert (deal.closed_at is not None) == (expected != "open")
        if deal.closed_at is not None:
            assert deal.closed_at == deal.stage_changed_at


async def test_each_deal_history_starts_empty_and_ends_in_its_current_stage(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    deals = await _rows(sessionmaker, Deal)
    changes = await _rows(sessionmaker, DealStageChange)
    for deal in deals:
        history = sorted((c for c in changes if c.deal_id == deal.id), key=lambda c: (c.changed_at, c.id))
        assert history[0].from_stage_id is None
        assert history[0].changed_at == deal.created_at
        assert history[-1].to_stage_id == deal.stage_id
        assert history[-1].changed_at == deal.stage_changed_at
        assert all(a.to_stage_id == b.from_stage_id for a, b in pairwise(history))


async def test_some_open_deals_are_stalled_and_most_are_not(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    async with sessionmaker() as session:
        services = Services.build(session, now=TEST_NOW)
        manager = next(u for u in await services.users.list() if u.role == "manager")
        deals = await services.deals.list_open(manager)
    stalled = [d for d in deals if d.stalled_days is not None]
    assert 0 < len(stalled) < len(deals) / 2


async def test_amounts_are_vnd_in_range_with_a_few_usd_deals_for_foreign_firms(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    deals = await _rows(sessionmaker, Deal)
    vnd = [d.amount for d in deals if d.currency == "VND"]
    usd = [d for d in deals if d.currency == "USD"]
    assert all(d.amount is not None and d.quantity for d in deals)
    assert all(Decimal(30_000_000) <= a <= Decimal(3_000_000_000) for a in vnd if a is not None)
    assert 0 < len(usd) < len(vnd) / 4


async def test_first_salesperson_has_overdue_due_today_and_upcoming_tasks(sessionmaker: Sessionmaker) -> None:
    summary = await _seed(sessionmaker)

    async with sessionmaker() as session:
        services = Services.build(session, now=TEST_NOW)
        lan = await services.users.by_name(summary.first_salesperson)
        assert lan is not None
        buckets = await services.tasks.buckets(lan)
    assert buckets.overdue
    assert buckets.today
    assert buckets.upcoming
    assert buckets.later > 0


async def test_no_reminder_is_pending_right_after_seeding(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    async with UnitOfWork(sessionmaker) as uow:
        reminders = await Services.build(uow.session, now=TEST_NOW).tasks.claim_reminders()

    assert reminders == []


async def test_first_salesperson_is_reminded_when_the_clock_moves_on_a_few_hours(sessionmaker: Sessionmaker) -> None:
    summary = await _seed(sessionmaker)

    async with UnitOfWork(sessionmaker) as uow:
        later = TEST_NOW + timedelta(hours=3)
        reminders = await Services.build(uow.session, now=later).tasks.claim_reminders()

    assert summary.first_salesperson in {owner.name for _task, owner in reminders if owner is not None}


async def test_nothing_happens_after_now_and_history_spans_the_asked_windows(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    deals = await _rows(sessionmaker, Deal)
    interactions = await _rows(sessionmaker, Interaction)
    tasks = await _rows(sessionmaker, Task)
    past = [d.created_at for d in deals] + [d.stage_changed_at for d in deals]
    past += [i.occurred_at for i in interactions] + [i.created_at for i in interactions]
    past += [t.created_at for t in tasks] + [t.done_at for t in tasks if t.done_at]
    past += [t.reminded_at for t in tasks if t.reminded_at]
    assert all(moment <= TEST_NOW for moment in past)
    assert min(d.created_at for d in deals) >= TEST_NOW - timedelta(days=91)
    assert min(i.occurred_at for i in interactions) >= TEST_NOW - timedelta(days=60)
    assert {i.kind for i in interactions} == {"call", "meeting", "email", "message", "note"}
    assert {i.source for i in interactions} == {"chat", "import"}


async def test_past_due_tasks_are_marked_reminded_and_future_ones_are_not(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    for task in await _rows(sessionmaker, Task):
        assert task.due_at is not None
        if task.done_at is None:
            assert (task.reminded_at is not None) == (task.due_at <= TEST_NOW)


async def test_hoa_phat_has_a_look_alike_and_minh_is_two_people(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    async with sessionmaker() as session:
        directory = Services.build(session, now=TEST_NOW).directory
        companies = await directory.match_companies("Hòa Phát")
        minhs = [m for m in await directory.match_contacts("Minh") if m.exact]
    assert [c.name for c in companies if c.exact] == ["Hòa Phát"]
    assert "Hòa Phát Nội thất" in [c.name for c in companies]
    assert len(minhs) == 2
    assert "Hòa Phát" in {m.company for m in minhs}
    assert len({m.company for m in minhs}) == 2


async def test_names_are_stored_with_their_folded_form(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    for row in await _rows(sessionmaker, Company) + await _rows(sessionmaker, Contact):
        assert row.name_folded == fold(row.name)
    for deal in await _rows(sessionmaker, Deal):
        assert deal.title_folded == fold(deal.title)


async def test_seeding_a_home_that_has_users_is_a_conflict(sessionmaker: Sessionmaker) -> None:
    await _seed(sessionmaker)

    with pytest.raises(Conflict):
        await _seed(sessionmaker)
    assert await _count(sessionmaker, User) == 5


async def test_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with _fresh_home(tmp_path / "a") as first, _fresh_home(tmp_path / "b") as second:
        await _seed(first, seed=11)
        await _seed(second, seed=11)
        assert await _dump(first) == await _dump(second)


async def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with _fresh_home(tmp_path / "a") as first, _fresh_home(tmp_path / "b") as second:
        await _seed(first, seed=1)
        await _seed(second, seed=2)
        assert (await _dump(first))["deals"] != (await _dump(second))["deals"]

"""The team's win-rate history: stored counts of past months plus this month's closes, always equal to the one
query over the whole history (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm_core.models import Deal
from crm_core.models.reports import WinRateSnapshot
from crm_core.reports.figures import Figures
from crm_core.reports.winrates import WinRates, month_start
from crm_core.schemas import UserOut
from crm_core.services import Services
from tests.conftest import OpenServices
from tests.core.test_reports import Seeder, at

M = Decimal(1_000_000)


async def _closed_deal(services: Services, owner: UserOut, outcome: str, closed: datetime, *,
                       through: tuple[str, ...] = ("quote",)) -> int:
    seed = Seeder(services)
    await seed.load_stages()
    created = closed - timedelta(days=10)
    moves = tuple((stage, created + timedelta(days=n + 1)) for n, stage in enumerate(through))
    return await seed.deal(f"{outcome} {closed.isoformat()}", owner, outcome, 1 * M, "VND", created=created,
                           status=outcome, moves=(*moves, (outcome, closed)))


async def _history_book(open_services: OpenServices) -> UserOut:
    """Closed deals in September, October and November 2026: some through quote, some through negotiation."""
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales")
        for n in range(4):
            await _closed_deal(services, lan, "won", at(10 + n, 9, month=9), through=("quote", "negotiation"))
            await _closed_deal(services, lan, "lost", at(12 + n, 9, month=10))
        await _closed_deal(services, lan, "won", at(3, 9))
        await _closed_deal(services, lan, "lost", at(20, 9), through=("qualified", "quote"))
    return lan


async def _whole_history(services: Services, as_of: datetime) -> dict[int, tuple[int, int]]:
    return await Figures(services.session).closed_through_stages(as_of)


async def test_the_history_equals_the_one_query_over_every_closed_deal_at_any_moment(
        open_services: OpenServices) -> None:
    await _history_book(open_services)
    for as_of in (at(1, 0, month=10), at(20, 12, month=10), at(1, 0), at(20, 9), at(20, 9, 1), at(30, 23)):
        async with open_services() as services:
            assert await WinRates(services.session).history(as_of) == await _whole_history(services, as_of), as_of


async def test_the_counts_before_the_month_are_stored_once_and_this_months_closes_added_live(
        open_services: OpenServices) -> None:
    lan = await _history_book(open_services)
    async with open_services() as services:
        first = await WinRates(services.session).history(at(23, 10))
    async with open_services() as services:
        stored = (await services.session.scalars(select(WinRateSnapshot))).all()
        await _closed_deal(services, lan, "won", at(23, 9))

    assert [s.boundary for s in stored] == [month_start(at(23, 10))]
    async with open_services() as services:
        later = await WinRates(services.session).history(at(23, 10))
        assert later == await _whole_history(services, at(23, 10))
        assert later != first
        assert (await services.session.scalars(select(WinRateSnapshot))).one().fingerprint == stored[0].fingerprint


async def test_a_deal_reopened_from_a_past_month_makes_the_stored_counts_recounted(
        open_services: OpenServices) -> None:
    await _history_book(open_services)
    async with open_services() as services:
        await WinRates(services.session).history(at(23, 10))
    async with open_services() as services:
        reopened = (await services.session.scalars(select(Deal).where(Deal.status == "lost")
                                                   .order_by(Deal.id).limit(1))).one()
        reopened.status, reopened.closed_at = "open", None

    async with open_services() as services:
        history = await WinRates(services.session).history(at(23, 10))
        assert history == await _whole_history(services, at(23, 10))
        stored = (await services.session.scalars(select(WinRateSnapshot))).one()
        assert stored.fingerprint == await WinRates(services.session).fingerprint(month_start(at(23, 10)))


async def test_the_ranking_reads_the_days_first_history_until_the_next_local_day(open_services: OpenServices) -> None:
    lan = await _history_book(open_services)
    async with open_services() as services:
        morning = await WinRates(services.session).of_day(at(23, 8))
        await _closed_deal(services, lan, "won", at(23, 9))

    async with open_services() as services:
        assert await WinRates(services.session).of_day(at(23, 17)) == morning
        tomorrow = await WinRates(services.session).of_day(at(24, 8))
        assert tomorrow == await _whole_history(services, at(24, 8))
        assert tomorrow != morning

"""Customers' value tiers (IDIC's "differentiate", Buttle's "serve the most valuable first").

score = 0.4 × rank(revenue won, last 365 days) + 0.25 × rank(open pipeline) + 0.2 × recency
        + 0.15 × rank(interactions, last 365 days)
where rank() is the percentile among customers (0..1) and recency 1 − days since the last contact / 365.
The top `tier_shares["A"]` of customers by score are A, the next `tier_shares["B"]` B, the rest C; a
customer with no revenue and no open pipeline is C whatever its activity. Amounts in other currencies
count at `currency_rates`. Recomputed nightly (NbaFlow.refresh_tiers_if_due) and stored in customer_tiers.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import CustomerTier, Deal, Interaction
from crm_core.nba.settings import NbaSettings

NOT_A_TOUCH = ("bot", "customer")


@dataclass(frozen=True)
class CustomerFigures:
    """What a customer's tier is computed from."""

    company_id: int
    revenue_won: Decimal
    open_pipeline: Decimal
    interactions: int
    last_contact_at: datetime | None


@dataclass(frozen=True)
class TierRow:
    """A customer's tier and the score behind it."""

    figures: CustomerFigures
    tier: str
    score: float


def _percentiles(values: list[float]) -> dict[float, float]:
    ordered = sorted(values)
    n = len(ordered)
    return {v: (bisect_left(ordered, v) + bisect_right(ordered, v)) / (2 * n) for v in set(ordered)}


def assign_tiers(customers: list[CustomerFigures], now: datetime, s: NbaSettings) -> list[TierRow]:
    """Score and tier the customers (pure)."""
    if not customers:
        return []
    revenue = _percentiles([float(c.revenue_won) for c in customers])
    pipeline = _percentiles([float(c.open_pipeline) for c in customers])
    frequency = _percentiles([float(c.interactions) for c in customers])
    scored = []
    for c in customers:
        recency = 0.0 if c.last_contact_at is None else max(0.0, 1 - (now - c.last_contact_at).days / 365)
        value = (0.4 * revenue[float(c.revenue_won)] * (c.revenue_won > 0)
                 + 0.25 * pipeline[float(c.open_pipeline)] * (c.open_pipeline > 0)
                 + 0.2 * recency + 0.15 * frequency[float(c.interactions)] * (c.interactions > 0))
        scored.append((value, c))
    scored.sort(key=lambda pair: (-pair[0], pair[1].company_id))
    a_count = round(len(scored) * s.tier_shares.get("A", 0.2))
    b_count = round(len(scored) * s.tier_shares.get("B", 0.3))
    rows = []
    for position, (value, c) in enumerate(scored):
        tier = "A" if position < a_count else "B" if position < a_count + b_count else "C"
        if c.revenue_won <= 0 and c.open_pipeline <= 0:
            tier = "C"
        rows.append(TierRow(figures=c, tier=tier, score=round(value, 4)))
    return rows


def _in_vnd(amount: object, currency: str | None, s: NbaSettings) -> Decimal:
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount or 0))
    return value * s.currency_rates.get(currency or "VND", Decimal(0))


async def customer_figures(session: AsyncSession, now: datetime, s: NbaSettings) -> list[CustomerFigures]:
    """Read every customer's revenue won, open pipeline and contacts in three aggregate queries."""
    year_ago = now - timedelta(days=365)
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    pipeline: dict[int, Decimal] = defaultdict(Decimal)
    rows = await session.execute(
        select(Deal.company_id, Deal.status, Deal.currency, func.sum(Deal.amount))
        .where(Deal.company_id.is_not(None), Deal.status.in_(("won", "open")),
               (Deal.status == "open") | (Deal.closed_at >= year_ago))
        .group_by(Deal.company_id, Deal.status, Deal.currency))
    for company_id, status, currency, amount in rows:
        target = revenue if status == "won" else pipeline
        target[int(company_id or 0)] += _in_vnd(amount, currency, s)
    touches: dict[int, tuple[int, datetime | None]] = {}
    for company_id, count, last in await session.execute(
            select(Interaction.company_id, func.count(Interaction.id), func.max(Interaction.occurred_at))
            .where(Interaction.company_id.is_not(None), Interaction.occurred_at >= year_ago,
                   Interaction.occurred_at <= now, Interaction.source.not_in(NOT_A_TOUCH))
            .group_by(Interaction.company_id)):
        touches[int(company_id or 0)] = (int(count), last)
    ids = set(revenue) | set(pipeline) | set(touches)
    return [CustomerFigures(company_id=i, revenue_won=revenue.get(i, Decimal(0)),
                            open_pipeline=pipeline.get(i, Decimal(0)), interactions=touches.get(i, (0, None))[0],
                            last_contact_at=touches.get(i, (0, None))[1]) for i in sorted(ids)]


async def store_tiers(session: AsyncSession, rows: list[TierRow], now: datetime) -> int:
    """Replace the stored tiers with `rows` (one DELETE, one executemany)."""
    await session.execute(delete(CustomerTier))
    if rows:
        await session.execute(insert(CustomerTier), [
            {"company_id": r.figures.company_id, "tier": r.tier, "score": Decimal(str(r.score)),
             "revenue_won": r.figures.revenue_won.quantize(Decimal("0.01")),
             "open_pipeline": r.figures.open_pipeline.quantize(Decimal("0.01")),
             "interactions": r.figures.interactions, "last_contact_at": r.figures.last_contact_at,
             "computed_at": now} for r in rows])
    return len(rows)


async def last_computed(session: AsyncSession) -> datetime | None:
    """When the stored tiers were computed (None: never)."""
    value = await session.scalar(select(func.max(CustomerTier.computed_at)))
    return value if isinstance(value, datetime) else None

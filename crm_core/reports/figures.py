"""The summary's figures, each one aggregate query (GROUP BY in the database, never a loop over rows).

    activity     interactions by owner and kind, this period and the one before, in one pass
    leads        FAQ-bot leads; contacts created by hand or by an import ("import:<file>")
    deals        created (by currency), moved between open stages, won and lost (by currency)
    pipeline     open deals at the end of the period by stage, currency and close-date horizon
    odds         closed deals by the stages they passed through (the team's history; winrates.py stores it)
    tasks        due in the period; overdue at its end by owner
    stalled      open deals past their stage's limit, by stage
    faq          questions by hand-off, reason, ticket and 👎; ratings

`owner_id` None is the team; a salesperson's figures pass their own id (crm_core.policy.figures_owner).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, distinct, exists, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm_core.models import (
    Contact,
    ContactIdentity,
    CustomerQuestion,
    Deal,
    DealStageChange,
    Interaction,
    Lead,
    Stage,
    Task,
    Ticket,
    User,
)
from crm_core.reports.models import (
    CountAndMoney,
    DealFigures,
    FaqFigures,
    Money,
    OwnerCount,
    RepActivity,
    StalledDeal,
    TaskFigures,
)
from crm_core.reports.periods import Period

# Interactions written for customers, not by the team: the bot's answers and the customers' own messages.
NOT_TEAM_WORK = ("bot", "customer")
DEFAULT_CURRENCY = "VND"
UNHAPPY_WITHIN = timedelta(hours=24)
CENT = Decimal("0.01")


def to_decimal(value: Any) -> Decimal:
    """A SUM as Decimal (SQLite returns floats), to the cent."""
    if value is None:
        return Decimal(0)
    return (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(CENT)


def add_money(into: Money, currency: str | None, amount: Any) -> None:
    """Add `amount` to its own currency's total; currencies are never mixed."""
    code = currency or DEFAULT_CURRENCY
    into[code] = into.get(code, Decimal(0)) + to_decimal(amount)


def _word(value: str) -> ColumnElement[str]:
    """A constant written into the SQL: PostgreSQL matches a GROUP BY expression to its SELECT only when the
    two are the same text, and two bound parameters ($1, $7) are not."""
    assert value.isidentifier()
    return literal_column(f"'{value}'", String)


def _currency() -> ColumnElement[str]:
    return func.coalesce(Deal.currency, _word(DEFAULT_CURRENCY))


def _stage_at(as_of: datetime) -> ColumnElement[int]:
    """The stage a deal open at `as_of` was in: the last stage change before it; when none is recorded by then
    (an imported deal may carry only its close), the earliest open stage it was recorded in; else its
    pipeline's first stage. Never a closed stage, so a deal won later still counts in the past pipeline."""
    passed = aliased(Stage)
    moved_to = (select(DealStageChange.to_stage_id)
                .where(DealStageChange.deal_id == Deal.id, DealStageChange.changed_at < as_of)
                .order_by(DealStageChange.changed_at.desc(), DealStageChange.id.desc())
                .limit(1).correlate(Deal).scalar_subquery())
    earliest_open = (select(DealStageChange.to_stage_id).join(passed, passed.id == DealStageChange.to_stage_id)
                     .where(DealStageChange.deal_id == Deal.id, passed.is_won.is_(False), passed.is_lost.is_(False))
                     .order_by(DealStageChange.changed_at, DealStageChange.id)
                     .limit(1).correlate(Deal).scalar_subquery())
    current, first = aliased(Stage), aliased(Stage)
    its_pipeline = select(current.pipeline_id).where(current.id == Deal.stage_id).correlate(Deal).scalar_subquery()
    first_stage = (select(first.id).where(first.pipeline_id == its_pipeline, first.is_won.is_(False),
                                          first.is_lost.is_(False), first.archived.is_(False))
                   .order_by(first.position, first.id).limit(1).correlate(Deal).scalar_subquery())
    return func.coalesce(moved_to, earliest_open, first_stage)


class Figures:
    """Aggregate queries over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def staff_names(self) -> dict[int, str]:
        """Return every staff member's name by id."""
        rows = await self._session.execute(select(User.id, User.name))
        return {int(user_id): str(name) for user_id, name in rows}

    async def salespeople(self) -> list[tuple[int, str]]:
        """Return the active salespeople (listed even on a day they logged nothing)."""
        from crm_core.policy import SALES

        rows = await self._session.execute(select(User.id, User.name).where(User.active.is_(True), User.role == SALES)
                                           .order_by(User.name, User.id))
        return [(user_id, name) for user_id, name in rows]

    # --- activity ------------------------------------------------------------------------------------------

    async def activity(self, period: Period, before: Period, owner_id: int | None
                       ) -> tuple[dict[int | None, dict[str, int]], dict[int | None, dict[str, int]]]:
        """Return interactions per owner and kind in `period` and in `before` (earlier: the period just before,
        or its same first days)."""
        this = func.sum(case((Interaction.occurred_at >= period.start, 1), else_=0))
        then_ = func.sum(case((Interaction.occurred_at < before.end, 1), else_=0))
        stmt = (select(Interaction.owner_id, Interaction.kind, this, then_)
                .where(Interaction.occurred_at >= before.start, Interaction.occurred_at < period.end,
                       Interaction.source.not_in(NOT_TEAM_WORK))
                .group_by(Interaction.owner_id, Interaction.kind))
        if owner_id is not None:
            stmt = stmt.where(Interaction.owner_id == owner_id)
        now: dict[int | None, dict[str, int]] = defaultdict(dict)
        then: dict[int | None, dict[str, int]] = defaultdict(dict)
        for owner, kind, in_period, in_before in await self._session.execute(stmt):
            if in_period:
                now[owner][kind] = int(in_period)
            if in_before:
                then[owner][kind] = int(in_before)
        return dict(now), dict(then)

    @staticmethod
    def reps(now: dict[int | None, dict[str, int]], then: dict[int | None, dict[str, int]],
             names: dict[int, str], listed: Sequence[tuple[int, str]]) -> list[RepActivity]:
        """Build each salesperson's line: the listed ones and anyone else who logged something, busiest first."""
        ids = dict.fromkeys([user_id for user_id, _ in listed] + [o for o in (*now, *then) if o is not None])
        lines = [RepActivity(user_id=user_id, name=names.get(user_id, f"#{user_id}"), by_kind=now.get(user_id, {}),
                             previous_by_kind=then.get(user_id, {})) for user_id in ids]
        return sorted(lines, key=lambda a: (-a.total, a.name))

    # --- leads ---------------------------------------------------------------------------------------------

    async def leads(self, period: Period, owner_id: int | None) -> dict[str, int]:
        """Return new leads by source: the FAQ bot's, imported contacts, contacts logged by hand."""
        bot = select(func.count(Lead.id)).where(Lead.created_at >= period.start, Lead.created_at < period.end)
        if owner_id is not None:
            bot = bot.where(Lead.assignee_id == owner_id)
        counts = {"faq_bot": int(await self._session.scalar(bot) or 0), "import": 0, "manual": 0}
        imported = Contact.source.is_not(None) & Contact.source.like("import%")
        source = case((imported, _word("import")), else_=_word("manual"))
        # Customers who wrote to the bot are contacts too; they become leads only by leaving a number (above).
        customer = exists().where(ContactIdentity.contact_id == Contact.id)
        stmt = (select(source, func.count()).where(Contact.created_at >= period.start,
                                                   Contact.created_at < period.end,
                                                   Contact.erased_at.is_(None), ~customer).group_by(source))
        if owner_id is not None:
            stmt = stmt.where(Contact.owner_id == owner_id)
        for kind, count in await self._session.execute(stmt):
            counts[str(kind)] = int(count)
        return counts

    # --- deals ---------------------------------------------------------------------------------------------

    async def deals(self, period: Period, owner_id: int | None) -> DealFigures:
        """Return deals created, moved, won and lost in the period, with values by currency."""
        figures = DealFigures()
        mine = [Deal.owner_id == owner_id] if owner_id is not None else []
        created = (select(_currency(), func.count(), func.sum(Deal.amount))
                   .where(Deal.created_at >= period.start, Deal.created_at < period.end, *mine)
                   .group_by(_currency()))
        for currency, count, amount in await self._session.execute(created):
            figures.created.count += int(count)
            if amount is not None:
                add_money(figures.created.amount, currency, amount)
        closed = (select(Deal.status, _currency(), func.count(), func.sum(Deal.amount))
                  .where(Deal.closed_at >= period.start, Deal.closed_at < period.end,
                         Deal.status.in_(("won", "lost")), *mine)
                  .group_by(Deal.status, _currency()))
        for status, currency, count, amount in await self._session.execute(closed):
            side: CountAndMoney = figures.won if status == "won" else figures.lost
            side.count += int(count)
            if amount is not None:
                add_money(side.amount, currency, amount)
        moved = (select(func.count(DealStageChange.id)).join(Stage, Stage.id == DealStageChange.to_stage_id)
                 .where(DealStageChange.changed_at >= period.start, DealStageChange.changed_at < period.end,
                        DealStageChange.from_stage_id.is_not(None), Stage.is_won.is_(False), Stage.is_lost.is_(False)))
        if owner_id is not None:
            moved = moved.join(Deal, Deal.id == DealStageChange.deal_id).where(Deal.owner_id == owner_id)
        figures.moved = int(await self._session.scalar(moved) or 0)
        return figures

    # --- pipeline ------------------------------------------------------------------------------------------

    async def open_deals(self, as_of: datetime, *, now: datetime, month_first: Any, month_last: Any,
                         owner_id: int | None) -> list[tuple[int, str, str, int, Decimal]]:
        """Return open deals at `as_of` by (stage id, currency, horizon): count and value.

        Horizon: "month" (expected to close by the month's end), "undated" (no date) or "later".
        For a past moment a deal created before it and not closed by then is open, whatever it is now.
        """
        if as_of >= now:
            stage_id: ColumnElement[int] = Deal.__table__.c.stage_id
            is_open: list[ColumnElement[bool]] = [Deal.status == "open"]
        else:
            stage_id = _stage_at(as_of)
            is_open = [Deal.created_at < as_of, or_(Deal.status == "open", Deal.closed_at >= as_of)]
        horizon = case((Deal.expected_close.is_(None), _word("undated")),
                       (Deal.expected_close <= month_last, _word("month")), else_=_word("later"))
        del month_first  # deals expected earlier and still open are due this month too
        stmt = (select(Stage.id, _currency(), horizon, func.count(), func.sum(Deal.amount))
                .select_from(Deal).join(Stage, Stage.id == stage_id)
                .where(*is_open, Stage.is_won.is_(False), Stage.is_lost.is_(False))
                .group_by(Stage.id, _currency(), horizon))
        if owner_id is not None:
            stmt = stmt.where(Deal.owner_id == owner_id)
        return [(int(s), str(c), str(h), int(n), to_decimal(a)) for s, c, h, n, a in await self._session.execute(stmt)]

    async def closed_through_stages(self, as_of: datetime, *, since: datetime | None = None
                                    ) -> dict[int, tuple[int, int]]:
        """Return, per stage, the team's deals closed before `as_of` (and at or after `since`) that passed
        through it: (won, closed). Callers go through crm_core.reports.winrates, which stores the past."""
        closed_when = [Deal.closed_at < as_of] + ([Deal.closed_at >= since] if since is not None else [])
        stmt = (select(DealStageChange.to_stage_id, Deal.status, func.count(distinct(Deal.id)))
                .join(Deal, Deal.id == DealStageChange.deal_id)
                .where(Deal.status.in_(("won", "lost")), *closed_when)
                .group_by(DealStageChange.to_stage_id, Deal.status))
        odds: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for stage_id, status, count in await self._session.execute(stmt):
            odds[int(stage_id)][1] += int(count)
            if status == "won":
                odds[int(stage_id)][0] += int(count)
        return {stage_id: (won, closed) for stage_id, (won, closed) in odds.items()}

    # --- tasks and stalled deals ---------------------------------------------------------------------------

    async def tasks(self, period: Period, as_of: datetime, owner_id: int | None, names: dict[int, str]
                    ) -> TaskFigures:
        """Return tasks due in the period, and open ones overdue at `as_of` by owner."""
        mine = [Task.owner_id == owner_id] if owner_id is not None else []
        due = await self._session.scalar(select(func.count(Task.id)).where(
            Task.due_at >= period.start, Task.due_at < period.end, *mine))
        overdue = (select(Task.owner_id, func.count())
                   .where(Task.due_at < as_of, or_(Task.done_at.is_(None), Task.done_at >= as_of), *mine)
                   .group_by(Task.owner_id))
        by_owner = [OwnerCount(user_id=owner, name=names.get(owner, "—") if owner else "—", count=int(count))
                    for owner, count in await self._session.execute(overdue)]
        by_owner.sort(key=lambda o: (-o.count, o.name))
        return TaskFigures(due=int(due or 0), overdue=sum(o.count for o in by_owner), overdue_by_owner=by_owner)

    async def _stall_limits(self) -> list[tuple[int, int]]:
        rows = await self._session.execute(select(Stage.id, Stage.stalled_after_days).where(
            Stage.stalled_after_days.is_not(None), Stage.is_won.is_(False), Stage.is_lost.is_(False)))
        return [(int(stage_id), int(days or 0)) for stage_id, days in rows]

    async def _stalled_where(self, as_of: datetime, owner_id: int | None) -> list[ColumnElement[bool]]:
        limits = await self._stall_limits()
        past_limit = or_(false(), *[and_(Deal.stage_id == stage_id, Deal.stage_changed_at < as_of - timedelta(days=d))
                                    for stage_id, d in limits])
        where = [Deal.status == "open", past_limit]
        if owner_id is not None:
            where.append(Deal.owner_id == owner_id)
        return where

    async def stalled_by_stage(self, as_of: datetime, owner_id: int | None) -> dict[str, int]:
        """Return open deals past their stage's limit at `as_of`, counted by stage key."""
        stmt = (select(Stage.key, func.count(Deal.id)).join(Stage, Stage.id == Deal.stage_id)
                .where(*await self._stalled_where(as_of, owner_id)).group_by(Stage.key))
        return {str(key): int(count) for key, count in await self._session.execute(stmt)}

    async def stalled_deals(self, as_of: datetime, owner_id: int | None, *, offset: int, limit: int
                            ) -> list[StalledDeal]:
        """Return a page of stalled deals, longest waiting first."""
        stmt = (select(Deal.id, Deal.title, Deal.owner_id, User.name, Stage.key, Stage.name_vi, Stage.name_en,
                       Deal.stage_changed_at, Deal.amount, Deal.currency)
                .join(Stage, Stage.id == Deal.stage_id).outerjoin(User, User.id == Deal.owner_id)
                .where(*await self._stalled_where(as_of, owner_id))
                .order_by(Deal.stage_changed_at, Deal.id).offset(offset).limit(limit))
        return [StalledDeal(id=i, title=t, owner_id=o, owner=n, stage_key=k, stage_vi=vi, stage_en=en,
                            days=(as_of - changed).days, amount=a, currency=c)
                for i, t, o, n, k, vi, en, changed, a, c in await self._session.execute(stmt)]

    # --- the FAQ bot ---------------------------------------------------------------------------------------

    async def faq(self, period: Period) -> FaqFigures:
        """Return the FAQ bot's questions, hand-offs by reason, resolutions and ratings in the period."""
        in_period = (CustomerQuestion.asked_at >= period.start, CustomerQuestion.asked_at < period.end)
        person = CustomerQuestion.ticket_id.is_not(None)
        unhappy = func.coalesce(CustomerQuestion.feedback, "") == "down"
        stmt = (select(CustomerQuestion.handoff, CustomerQuestion.reason, person, unhappy, func.count())
                .where(*in_period).group_by(CustomerQuestion.handoff, CustomerQuestion.reason, person, unhappy))
        faq = FaqFigures()
        answered_unhappy = 0
        for handoff, reason, asked_person, down, count in await self._session.execute(stmt):
            faq.questions += count
            if handoff:
                faq.handoffs += count
                key = reason or "other"
                faq.handoffs_by_reason[key] = faq.handoffs_by_reason.get(key, 0) + count
                continue
            faq.answered += count
            if not asked_person and not down:
                faq.resolved += count
            elif not asked_person:
                answered_unhappy += count
        if answered_unhappy:
            # Only the answered, 👎-rated questions (few) are read, to tell a 👎 within 24 hours from a late one.
            rows = await self._session.execute(select(CustomerQuestion.asked_at, CustomerQuestion.feedback_at).where(
                *in_period, CustomerQuestion.handoff.is_(False), ~person, unhappy))
            faq.resolved += sum(1 for asked, rated in rows if rated is not None and rated - asked > UNHAPPY_WITHIN)
        average, count = (await self._session.execute(select(func.avg(Ticket.csat), func.count(Ticket.csat)).where(
            Ticket.csat_at >= period.start, Ticket.csat_at < period.end, Ticket.csat.is_not(None)))).one()
        faq.csat = round(float(average), 2) if average is not None else None
        faq.csat_count = int(count or 0)
        return faq

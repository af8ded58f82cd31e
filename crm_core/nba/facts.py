"""What the rules read about one salesperson, loaded in a fixed handful of queries (never one per deal).

    stages      every stage with its pipeline and the team's win rate from it (history) — 2 queries
    deals       the person's open deals and recently won ones, with their interactions aggregated — 1
    tasks       the person's open tasks with due dates — 1
    companies   the person's customers: tier, last contact, open tickets, low ratings, buying questions,
                deals lost lately — 6
    leads       leads assigned to the person, touched or not since — 1
    outcomes    the person's latest answer per subject (done, snoozed) — 1
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import (
    Company,
    Contact,
    CustomerQuestion,
    CustomerTier,
    Deal,
    Interaction,
    Lead,
    NbaOutcome,
    Pipeline,
    Stage,
    Task,
    Ticket,
)
from crm_core.nba.settings import NbaSettings
from crm_core.reports.winrates import WinRates
from crm_core.textnorm import fold

WORDS_FILE = Path(__file__).with_name("data") / "words.json"
# Interactions the customers or the bot wrote are not the team's touches.
NOT_A_TOUCH = ("bot", "customer")


@cache
def cues(kind: str) -> tuple[str, ...]:
    """Return the folded cues of `kind` from data/words.json."""
    data = json.loads(WORDS_FILE.read_text(encoding="utf-8"))
    return tuple(fold(c) for c in data[kind])


def mentions(text: str, kind: str) -> bool:
    """Tell whether `text` names one of the cues of `kind` as whole words."""
    padded = f" {' '.join(fold(text).replace('/', ' ').replace(',', ' ').split())} "
    return any(f" {cue} " in padded for cue in cues(kind))


@dataclass(frozen=True)
class StageFact:
    """A stage, its limits and its odds."""

    id: int
    key: str
    name_vi: str
    name_en: str
    pipeline: str
    position: int
    probability: int
    stalled_after_days: int | None
    is_first: bool
    odds: float
    odds_basis: str  # "history" or "configured"


@dataclass(frozen=True)
class DealFact:
    """One of the person's deals (open, or won recently) with its interactions aggregated."""

    id: int
    title: str
    status: str
    stage: StageFact
    company_id: int | None
    company: str | None
    contact_id: int | None
    contact: str | None
    amount: Decimal | None
    currency: str | None
    expected_close: date | None
    created_at: datetime
    stage_changed_at: datetime
    closed_at: datetime | None
    last_touch_at: datetime | None = None
    touches: int = 0
    # Touches in the burst window [now - (burst + silence) days, now - silence days).
    burst_touches: int = 0


@dataclass(frozen=True)
class TaskFact:
    """One of the person's open tasks."""

    id: int
    title: str
    due_at: datetime | None
    deal_id: int | None
    company_id: int | None
    company: str | None
    contact_id: int | None
    contact: str | None
    created_at: datetime


@dataclass
class CompanyFact:
    """One of the person's customers."""

    id: int
    name: str
    tier: str | None = None
    last_contact_at: datetime | None = None
    open_ticket_at: datetime | None = None
    low_csat: int | None = None
    low_csat_at: datetime | None = None
    buying_question: str | None = None
    buying_question_at: datetime | None = None
    # The customer person behind the ticket or the question, when known.
    contact_id: int | None = None
    contact: str | None = None
    # When the person's latest deal with the company was lost (within lost_deal_days): work with it may be moot.
    lost_deal_at: datetime | None = None


@dataclass(frozen=True)
class LeadFact:
    """A lead assigned to the person."""

    id: int
    contact_id: int | None
    contact: str | None
    company_id: int | None
    company: str | None
    deal_id: int | None
    created_at: datetime
    touched_at: datetime | None


@dataclass(frozen=True)
class OutcomeFact:
    """The person's latest answer about one subject."""

    subject: str
    rule: str
    outcome: str
    state: str
    at: datetime
    until: datetime | None


@dataclass
class Facts:
    """Everything the rules read about one salesperson at `now`."""

    user_id: int
    now: datetime
    tz_date: date  # today in the business time zone
    deals: list[DealFact] = field(default_factory=list)
    tasks: list[TaskFact] = field(default_factory=list)
    companies: dict[int, CompanyFact] = field(default_factory=dict)
    leads: list[LeadFact] = field(default_factory=list)
    outcomes: dict[str, OutcomeFact] = field(default_factory=dict)

    @property
    def open_deals(self) -> list[DealFact]:
        """Return the open deals."""
        return [d for d in self.deals if d.status == "open"]


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


class FactLoader:
    """Load the facts of one salesperson; stages and odds are read once per loader (a digest for 200 people)."""

    def __init__(self, session: AsyncSession, settings: NbaSettings, *, tiers: dict[int, str] | None = None) -> None:
        self._session = session
        self._settings = settings
        self._stages: dict[int, StageFact] | None = None
        # Tiers computed in memory (none stored yet); None: read the stored ones.
        self._tiers = tiers

    async def stages(self, now: datetime) -> dict[int, StageFact]:
        """Return every open stage with its odds: the team's win rate once enough deals closed through it."""
        if self._stages is not None:
            return self._stages
        history = await self._history(now)
        rows = await self._session.execute(
            select(Stage.id, Stage.key, Stage.name_vi, Stage.name_en, Pipeline.key, Stage.position, Stage.probability,
                   Stage.stalled_after_days, Stage.is_won, Stage.is_lost)
            .join(Pipeline, Pipeline.id == Stage.pipeline_id))
        table = list(rows)
        first: dict[str, int] = {}
        for _i, _k, _vi, _en, pipeline, position, _p, _s, won, lost in table:
            if not won and not lost:
                first[pipeline] = min(first.get(pipeline, position), position)
        stages: dict[int, StageFact] = {}
        for sid, key, vi, en, pipeline, position, probability, stalled, _won, _lost in table:
            won_n, closed = history.get(int(sid), (0, 0))
            from_history = closed >= self._settings.min_history
            stages[int(sid)] = StageFact(
                id=int(sid), key=key, name_vi=vi, name_en=en, pipeline=pipeline, position=position,
                probability=probability, stalled_after_days=stalled, is_first=first.get(pipeline) == position,
                odds=won_n / closed if from_history else probability / 100,
                odds_basis="history" if from_history else "configured")
        self._stages = stages
        return stages

    async def _history(self, now: datetime) -> dict[int, tuple[int, int]]:
        """The team's closed deals through each stage, as the forecast counts them, read once a day per database
        (yesterday's win rates rank as well as this minute's)."""
        return await WinRates(self._session).of_day(now)

    async def load(self, user_id: int, now: datetime, today: date) -> Facts:
        """Read everything the rules need about `user_id` at `now`."""
        facts = Facts(user_id=user_id, now=now, tz_date=today)
        stages = await self.stages(now)
        facts.deals = await self._deals(user_id, now, stages)
        facts.tasks = await self._tasks(user_id)
        facts.companies = await self._companies(user_id, now, facts)
        facts.leads = await self._leads(user_id, now)
        facts.outcomes = await self._outcomes(user_id, now)
        return facts

    def _won_since(self, now: datetime) -> datetime:
        longest = max(self._settings.renewal_days.values(), default=0)
        return now - timedelta(days=max(longest + 31, self._settings.onboarding_days + 1))

    async def _deals(self, user_id: int, now: datetime, stages: dict[int, StageFact]) -> list[DealFact]:
        s = self._settings
        silence_from = now - timedelta(days=s.silence_days)
        burst_from = silence_from - timedelta(days=s.burst_days)
        mine = and_(Deal.owner_id == user_id,
                    or_(Deal.status == "open", and_(Deal.status == "won", Deal.closed_at >= self._won_since(now))))
        # A call logged on the deal's contact or company by its owner is contact with the deal too: imported and
        # quickly logged interactions often name only the customer.
        about_deal = or_(Interaction.deal_id == Deal.id,
                         and_(Interaction.owner_id == Deal.owner_id,
                              or_(Interaction.contact_id == Deal.contact_id,
                                  Interaction.company_id == Deal.company_id)))
        touches = (select(Deal.id.label("deal_id"), func.max(Interaction.occurred_at).label("last"),
                          func.count(Interaction.id).label("n"),
                          func.sum(case((and_(Interaction.occurred_at >= burst_from,
                                              Interaction.occurred_at < silence_from), 1), else_=0)).label("burst"))
                   .join(Deal, about_deal)
                   .where(mine, Interaction.source.not_in(NOT_A_TOUCH), Interaction.occurred_at <= now)
                   .group_by(Deal.id).subquery())
        rows = await self._session.execute(
            select(Deal.id, Deal.title, Deal.status, Deal.stage_id, Deal.company_id, Company.name, Deal.contact_id,
                   Contact.name, Deal.amount, Deal.currency, Deal.expected_close, Deal.created_at,
                   Deal.stage_changed_at, Deal.closed_at, touches.c.last, touches.c.n, touches.c.burst)
            .outerjoin(Company, Company.id == Deal.company_id).outerjoin(Contact, Contact.id == Deal.contact_id)
            .outerjoin(touches, touches.c.deal_id == Deal.id).where(mine).order_by(Deal.id))
        deals = []
        for (i, title, status, stage_id, company_id, company, contact_id, contact, amount, currency, close, created,
             changed, closed, last, n, burst) in rows:
            stage = stages.get(int(stage_id))
            if stage is None:
                continue
            deals.append(DealFact(id=i, title=title, status=status, stage=stage, company_id=company_id,
                                  company=company, contact_id=contact_id, contact=contact, amount=_decimal(amount),
                                  currency=currency, expected_close=close, created_at=created,
                                  stage_changed_at=changed, closed_at=closed, last_touch_at=last, touches=int(n or 0),
                                  burst_touches=int(burst or 0)))
        return deals

    async def _tasks(self, user_id: int) -> list[TaskFact]:
        rows = await self._session.execute(
            select(Task.id, Task.title, Task.due_at, Task.deal_id, func.coalesce(Task.company_id, Contact.company_id),
                   Company.name, Task.contact_id, Contact.name, Task.created_at)
            .outerjoin(Contact, Contact.id == Task.contact_id)
            .outerjoin(Company, Company.id == func.coalesce(Task.company_id, Contact.company_id))
            .where(Task.owner_id == user_id, Task.done_at.is_(None)).order_by(Task.id))
        return [TaskFact(id=i, title=t, due_at=due, deal_id=d, company_id=co, company=cn, contact_id=ct, contact=ctn,
                         created_at=created) for i, t, due, d, co, cn, ct, ctn, created in rows]

    async def _companies(self, user_id: int, now: datetime, facts: Facts) -> dict[int, CompanyFact]:
        """The person's customers: companies they own or have deals or tasks with."""
        s = self._settings
        ids = {d.company_id for d in facts.deals if d.company_id} | {t.company_id for t in facts.tasks if t.company_id}
        # Companies the person owns, or whose people they look after (contacts' owner: the spreadsheet's "owner").
        owned = await self._session.execute(select(Company.id, Company.name).where(or_(
            Company.owner_id == user_id,
            Company.id.in_(select(Contact.company_id).where(Contact.owner_id == user_id,
                                                            Contact.company_id.is_not(None))))))
        companies = {int(i): CompanyFact(id=int(i), name=n) for i, n in owned}
        for deal in facts.deals:
            if deal.company_id and deal.company_id not in companies:
                companies[deal.company_id] = CompanyFact(id=deal.company_id, name=deal.company or "")
        for task in facts.tasks:
            if task.company_id and task.company_id not in companies:
                companies[task.company_id] = CompanyFact(id=task.company_id, name=task.company or "")
        ids |= set(companies)
        if not ids:
            return companies
        id_list = sorted(ids)
        if self._tiers is not None:
            for company_id in id_list:
                companies[company_id].tier = self._tiers.get(company_id, "C")
        else:
            for tier_company, tier in await self._session.execute(
                    select(CustomerTier.company_id, CustomerTier.tier).where(CustomerTier.company_id.in_(id_list))):
                companies[int(tier_company)].tier = tier
        for touched_company, last in await self._session.execute(
                select(Interaction.company_id, func.max(Interaction.occurred_at))
                .where(Interaction.company_id.in_(id_list), Interaction.source.not_in(NOT_A_TOUCH),
                       Interaction.occurred_at <= now).group_by(Interaction.company_id)):
            companies[int(touched_company or 0)].last_contact_at = last
        recent = now - timedelta(days=s.csat_days)
        tickets = await self._session.execute(
            select(Contact.company_id, Contact.id, Contact.name, Ticket.status, Ticket.opened_at, Ticket.csat,
                   Ticket.csat_at)
            .join(Contact, Contact.id == Ticket.contact_id)
            .where(Contact.company_id.in_(id_list),
                   or_(Ticket.status == "open", and_(Ticket.csat <= s.low_csat, Ticket.csat_at >= recent)))
            .order_by(Ticket.opened_at))
        for ticket_company, ticket_contact, contact, status, opened, csat, csat_at in tickets:
            fact = companies[int(ticket_company or 0)]
            contact_id: int | None = ticket_contact
            if status == "open" and fact.open_ticket_at is None:
                fact.open_ticket_at, fact.contact_id, fact.contact = opened, contact_id, contact
            if csat is not None and csat_at is not None and csat <= s.low_csat and (
                    fact.low_csat_at is None or csat_at > fact.low_csat_at):
                fact.low_csat, fact.low_csat_at = int(csat), csat_at
                fact.contact_id, fact.contact = fact.contact_id or contact_id, fact.contact or contact
        for lost_company, lost_at in await self._session.execute(
                select(Deal.company_id, func.max(Deal.closed_at))
                .where(Deal.company_id.in_(id_list), Deal.owner_id == user_id, Deal.status == "lost",
                       Deal.closed_at <= now, Deal.closed_at >= now - timedelta(days=s.lost_deal_days))
                .group_by(Deal.company_id)):
            companies[int(lost_company or 0)].lost_deal_at = lost_at
        asked_since = now - timedelta(hours=s.buying_question_hours)
        questions = await self._session.execute(
            select(Contact.company_id, Contact.id, Contact.name, CustomerQuestion.question, CustomerQuestion.asked_at)
            .join(Contact, Contact.id == CustomerQuestion.contact_id)
            .where(Contact.company_id.in_(id_list), CustomerQuestion.asked_at >= asked_since,
                   CustomerQuestion.asked_at <= now)
            .order_by(CustomerQuestion.asked_at))
        for asking_company, asking_contact, asking_name, question, asked in questions:
            if mentions(question, "buying_question"):
                fact = companies[int(asking_company or 0)]
                fact.buying_question, fact.buying_question_at = question, asked
                fact.contact_id, fact.contact = asking_contact, asking_name
        return companies

    async def _leads(self, user_id: int, now: datetime) -> list[LeadFact]:
        since = now - timedelta(days=30)
        touched = (select(func.max(Interaction.occurred_at)).where(
            Interaction.contact_id == Lead.contact_id, Interaction.occurred_at >= Lead.created_at,
            Interaction.occurred_at <= now, Interaction.source.not_in(NOT_A_TOUCH))
            .correlate(Lead).scalar_subquery())
        rows = await self._session.execute(
            select(Lead.id, Lead.contact_id, Contact.name, Contact.company_id, Company.name, Lead.deal_id,
                   Lead.created_at, touched)
            .outerjoin(Contact, Contact.id == Lead.contact_id).outerjoin(Company, Company.id == Contact.company_id)
            .where(Lead.assignee_id == user_id, Lead.created_at >= since, Lead.created_at <= now).order_by(Lead.id))
        return [LeadFact(id=i, contact_id=c, contact=cn, company_id=co, company=con, deal_id=d, created_at=at,
                         touched_at=t) for i, c, cn, co, con, d, at, t in rows]

    async def _outcomes(self, user_id: int, now: datetime) -> dict[str, OutcomeFact]:
        rows = await self._session.execute(
            select(NbaOutcome.subject, NbaOutcome.rule, NbaOutcome.outcome, NbaOutcome.state, NbaOutcome.at,
                   NbaOutcome.until)
            .where(NbaOutcome.user_id == user_id, NbaOutcome.outcome.in_(("done", "snoozed")),
                   NbaOutcome.at <= now, NbaOutcome.at >= now - timedelta(days=120))
            .order_by(NbaOutcome.at, NbaOutcome.id))
        latest: dict[str, OutcomeFact] = {}
        for subject, rule, outcome, state, at, until in rows:
            latest[subject] = OutcomeFact(subject=subject, rule=rule, outcome=outcome, state=state, at=at, until=until)
        return latest


def companies_of(deals: Iterable[DealFact]) -> set[int]:
    """Return the companies of `deals`."""
    return {d.company_id for d in deals if d.company_id is not None}

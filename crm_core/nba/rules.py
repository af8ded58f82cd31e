"""The rules: small named pure functions from one salesperson's facts to candidate actions.

Each candidate names its rule, its subject (one action per subject: "deal:42", "task:7", "company:3",
"lead:5"), an urgency in 0..1 and the facts its reason rests on (`facts`, worded by the text catalogue
`nba.reason.<rule>`). Value and likelihood are added by the ranker from the deal and the customer.

    rule                 when                                                   urgency
    buying_signal        the customer asked the FAQ bot about price/buying <24 h  0.9, fading over the day
    care_first           open ticket, or a low rating in csat_days: call first   0.8 open ticket, 0.7 rating
    task_overdue         an open task past due                                   0.7 + lateness; ± task kind
    task_due_today       an open task due today                                  0.6 ± task kind
    quote_no_followup    a quote stage entered ≥ followup days ago, untouched     0.55 + waiting
    close_date           expected close passed, or within close_soon_days        0.7 + lateness / 0.55 + nearness
    new_lead             a lead (FAQ bot) not contacted yet                      0.65, 0.9 once past the SLA
    lead_untouched       a deal at the first stage, never touched past the SLA   0.75 + waiting
    deal_stalled         longer in its stage than the stage's limit              0.45 + how far past
    onboarding           won within onboarding_days, no contact since            0.5 + days
    renewal              the product cycle since a win comes round               0.45 + nearness
    gone_silent          ≥ burst_min touches, then none for silence_days         0.5 + silence
    key_customer_quiet   tier A/B customer not contacted for quiet_days           0.35 + how long
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from crm_core.nba.facts import CompanyFact, DealFact, Facts, LeadFact, TaskFact, mentions
from crm_core.nba.settings import NbaSettings

FactValue = str | int | None


@dataclass(frozen=True)
class Candidate:
    """One possible action with what it rests on."""

    rule: str
    subject: str
    urgency: float
    since: datetime  # how old the thing is: older first on equal scores
    facts: dict[str, FactValue] = field(default_factory=dict)
    deal: DealFact | None = None
    task_id: int | None = None
    lead_id: int | None = None
    company_id: int | None = None
    company: str | None = None
    contact_id: int | None = None
    contact: str | None = None
    due: date | None = None


Rule = Callable[[Facts, NbaSettings], Iterator[Candidate]]


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _days(later: datetime, earlier: datetime) -> int:
    return max(0, (later - earlier).days)


def _money(deal: DealFact) -> dict[str, FactValue]:
    return {"amount": str(deal.amount) if deal.amount is not None else None, "currency": deal.currency}


def _stage(deal: DealFact) -> dict[str, FactValue]:
    return {"stage_vi": deal.stage.name_vi, "stage_en": deal.stage.name_en}


def _about_deal(rule: str, deal: DealFact, urgency: float, since: datetime, due: date | None,
                **facts: FactValue) -> Candidate:
    return Candidate(rule=rule, subject=f"deal:{deal.id}", urgency=_clamp(urgency), since=since,
                     facts={**facts, **_money(deal), **_stage(deal)}, deal=deal, company_id=deal.company_id,
                     company=deal.company, contact_id=deal.contact_id, contact=deal.contact, due=due)


def _local_day(facts: Facts, moment: datetime) -> date:
    """The business day of `moment` (facts.now carries the business offset)."""
    return moment.astimezone(facts.now.tzinfo).date()


def _deal_of(facts: Facts, deal_id: int | None) -> DealFact | None:
    return next((d for d in facts.open_deals if d.id == deal_id), None) if deal_id is not None else None


def _best_open_deal(facts: Facts, company_id: int | None) -> DealFact | None:
    """The person's biggest open deal with a company: an action about the customer goes with it."""
    deals = [d for d in facts.open_deals if company_id is not None and d.company_id == company_id]
    return max(deals, key=lambda d: (d.amount or Decimal(0), -d.id)) if deals else None


def _task_kind(task: TaskFact) -> tuple[str, float]:
    """Contract and quote tasks before courtesy calls."""
    if mentions(task.title, "important_task"):
        return "important", 0.1
    if mentions(task.title, "courtesy_task"):
        return "courtesy", -0.15
    return "plain", 0.0


def _open_deal_about(facts: Facts, task: TaskFact) -> DealFact | None:
    """The open deal a task without one is about: its contact's, else the biggest with its company. The task and
    the deal's own action are then one subject, so the list never says two things about the same customer."""
    if task.deal_id is not None:
        return _deal_of(facts, task.deal_id)
    with_contact = [d for d in facts.open_deals if task.contact_id is not None and d.contact_id == task.contact_id]
    if with_contact:
        return max(with_contact, key=lambda d: (d.amount or Decimal(0), -d.id))
    return _best_open_deal(facts, task.company_id)


def _lost_lately(facts: Facts, task: TaskFact) -> datetime | None:
    company = facts.companies.get(task.company_id) if task.company_id is not None else None
    return company.lost_deal_at if company is not None else None


def _task_candidate(facts: Facts, task: TaskFact, rule: str, urgency: float, **more: FactValue) -> Candidate:
    kind, bump = _task_kind(task)
    due = _local_day(facts, task.due_at) if task.due_at else None
    extra: dict[str, FactValue] = {"title": task.title, "task_kind": kind, **more}
    deal = _open_deal_about(facts, task)
    lost_at = _lost_lately(facts, task) if deal is None else None
    if lost_at is not None:
        # Its customer's deal was just lost: the ranking puts it below open-deal work, and the reason says why.
        extra["lost_on"] = _local_day(facts, lost_at).isoformat()
    if deal is not None:
        candidate = _about_deal(rule, deal, urgency + bump, task.due_at or task.created_at, due, **extra)
        return replace(candidate, task_id=task.id, contact=task.contact or deal.contact,
                       contact_id=task.contact_id or deal.contact_id)
    return Candidate(rule=rule, subject=f"task:{task.id}", urgency=_clamp(urgency + bump),
                     since=task.due_at or task.created_at, facts=extra, task_id=task.id, company_id=task.company_id,
                     company=task.company, contact_id=task.contact_id, contact=task.contact, due=due)


def task_overdue(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """Open tasks past their due time: the later, the more urgent."""
    for task in facts.tasks:
        if task.due_at is not None and task.due_at < facts.now and _local_day(facts, task.due_at) < facts.tz_date:
            late = (facts.tz_date - _local_day(facts, task.due_at)).days
            yield _task_candidate(facts, task, "task_overdue", 0.7 + 0.2 * min(late / 7, 1), days=late,
                                  due_on=_local_day(facts, task.due_at).isoformat())


def task_due_today(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """Open tasks due today (earlier today counts too: it is still today's work)."""
    for task in facts.tasks:
        if task.due_at is not None and _local_day(facts, task.due_at) == facts.tz_date:
            local = task.due_at.astimezone(facts.now.tzinfo)
            passed = task.due_at < facts.now
            yield _task_candidate(facts, task, "task_due_today", 0.65 if passed else 0.6,
                                  time=f"{local:%H:%M}", due_on=facts.tz_date.isoformat())


def deal_stalled(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """Open deals longer in their stage than the stage's limit, not touched in the last few days."""
    for deal in facts.open_deals:
        limit = deal.stage.stalled_after_days
        if not limit:
            continue
        days = _days(facts.now, deal.stage_changed_at)
        recently = deal.last_touch_at is not None and facts.now - deal.last_touch_at < timedelta(
            days=s.stalled_touch_grace_days)
        if days > limit and not recently:
            yield _about_deal("deal_stalled", deal, 0.45 + 0.35 * min((days - limit) / limit, 1),
                              deal.stage_changed_at, None, days=days, limit=limit)


def quote_no_followup(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A quote sent (the deal entered a quote stage) and nobody has been back in touch since."""
    for deal in facts.open_deals:
        if deal.stage.key not in s.quote_stage_keys:
            continue
        sent = deal.stage_changed_at
        wait = s.followup_days(deal.stage.key)
        # The call or e-mail that sent the quote is logged with the move itself: an hour's grace.
        followed = deal.last_touch_at is not None and deal.last_touch_at > sent + timedelta(hours=1)
        days = _days(facts.now, sent)
        if not followed and days >= wait:
            yield _about_deal("quote_no_followup", deal, 0.55 + 0.35 * min(days / (3 * wait), 1), sent, None,
                              days=days, limit=deal.stage.stalled_after_days or wait, wait=wait)


def close_date(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """Expected close passed, or within close_soon_days."""
    for deal in facts.open_deals:
        if deal.expected_close is None:
            continue
        left = (deal.expected_close - facts.tz_date).days
        if left < 0:
            yield _about_deal("close_date", deal, 0.7 + 0.2 * min(-left / 14, 1), deal.created_at,
                              deal.expected_close, days=-left, close_on=deal.expected_close.isoformat(), late=1)
        elif left <= s.close_soon_days:
            nearness = (s.close_soon_days - left) / max(s.close_soon_days, 1)
            yield _about_deal("close_date", deal, 0.55 + 0.15 * nearness, deal.created_at, deal.expected_close,
                              days=left, close_on=deal.expected_close.isoformat(), late=0)


def _customer_candidate(facts: Facts, company: CompanyFact, rule: str, urgency: float, since: datetime,
                        **extra: FactValue) -> Candidate:
    deal = _best_open_deal(facts, company.id)
    if deal is not None:
        c = _about_deal(rule, deal, urgency, since, None, company_name=company.name, **extra)
        if company.contact is not None:
            return replace(c, contact=company.contact, contact_id=company.contact_id)
        return c
    return Candidate(rule=rule, subject=f"company:{company.id}", urgency=_clamp(urgency), since=since,
                     facts={"company_name": company.name, **extra}, company_id=company.id, company=company.name,
                     contact_id=company.contact_id, contact=company.contact)


def buying_signal(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """The customer asked the FAQ bot about price or buying within buying_question_hours: call now."""
    for company in facts.companies.values():
        if company.buying_question_at is None or company.buying_question is None:
            continue
        hours = int((facts.now - company.buying_question_at).total_seconds() // 3600)
        if company.last_contact_at is not None and company.last_contact_at > company.buying_question_at:
            continue  # already called back
        yield _customer_candidate(facts, company, "buying_signal", 0.95 - 0.1 * hours / s.buying_question_hours,
                                  company.buying_question_at, hours=hours, question=company.buying_question[:120])


def care_first(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A customer with an open ticket or a low rating: call to put it right before selling."""
    for company in facts.companies.values():
        if company.open_ticket_at is not None:
            yield _customer_candidate(facts, company, "care_first", 0.8, company.open_ticket_at,
                                      days=_days(facts.now, company.open_ticket_at), csat=None, ticket=1)
        elif company.low_csat is not None and company.low_csat_at is not None:
            # A sales call after the rating does not put it right: it stays until done or snoozed.
            yield _customer_candidate(facts, company, "care_first", 0.7, company.low_csat_at,
                                      days=_days(facts.now, company.low_csat_at), csat=company.low_csat, ticket=0)


def _lead_candidate(facts: Facts, lead: LeadFact, urgency: float, hours: int) -> Candidate:
    deal = _deal_of(facts, lead.deal_id)
    if deal is not None:
        c = _about_deal("new_lead", deal, urgency, lead.created_at, None, hours=hours)
        return replace(c, lead_id=lead.id, contact=lead.contact or deal.contact,
                       contact_id=lead.contact_id or deal.contact_id)
    return Candidate(rule="new_lead", subject=f"lead:{lead.id}", urgency=_clamp(urgency), since=lead.created_at,
                     facts={"hours": hours}, lead_id=lead.id, company_id=lead.company_id, company=lead.company,
                     contact_id=lead.contact_id, contact=lead.contact)


def new_lead(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A lead left with the FAQ bot, not contacted yet: more urgent once past the SLA (a day)."""
    for lead in facts.leads:
        if lead.touched_at is not None:
            continue
        hours = int((facts.now - lead.created_at).total_seconds() // 3600)
        late = hours >= s.lead_sla_hours
        yield _lead_candidate(facts, lead, 0.9 if late else 0.65 + 0.2 * hours / s.lead_sla_hours, hours)


def lead_untouched(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A deal at its pipeline's first stage, assigned and never touched, past the SLA."""
    for deal in facts.open_deals:
        if not deal.stage.is_first or deal.touches:
            continue
        hours = int((facts.now - deal.created_at).total_seconds() // 3600)
        if hours >= s.lead_sla_hours:
            yield _about_deal("lead_untouched", deal, 0.75 + 0.15 * min(hours / (24 * 7), 1), deal.created_at,
                              None, days=hours // 24)


def onboarding(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A deal won in the last onboarding_days with no contact since: hand over, start onboarding."""
    for deal in facts.deals:
        if deal.status != "won" or deal.closed_at is None:
            continue
        days = (facts.tz_date - _local_day(facts, deal.closed_at)).days  # calendar days: 1 is "yesterday"
        touched = deal.last_touch_at is not None and deal.last_touch_at > deal.closed_at
        company = facts.companies.get(deal.company_id) if deal.company_id else None
        if company is not None and company.last_contact_at is not None and company.last_contact_at > deal.closed_at:
            touched = True
        if days <= s.onboarding_days and not touched:
            yield _about_deal("onboarding", deal, 0.5 + 0.3 * days / s.onboarding_days, deal.closed_at, None,
                              days=days)


def renewal(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """The product's cycle since a win comes round (per pipeline): propose the renewal or re-order."""
    for deal in facts.deals:
        cycle = s.renewal_days.get(deal.stage.pipeline)
        if deal.status != "won" or deal.closed_at is None or not cycle:
            continue
        due = _local_day(facts, deal.closed_at) + timedelta(days=cycle)
        left = (due - facts.tz_date).days
        if not -30 <= left <= s.renewal_lead_days:
            continue
        newer = any(d.company_id == deal.company_id and d.created_at > deal.closed_at for d in facts.open_deals)
        window = datetime.combine(due - timedelta(days=s.renewal_lead_days), datetime.min.time(), facts.now.tzinfo)
        company = facts.companies.get(deal.company_id) if deal.company_id else None
        touched = company is not None and company.last_contact_at is not None and company.last_contact_at >= window
        if newer or touched or deal.company_id is None:
            continue
        nearness = 1 - max(left, 0) / max(s.renewal_lead_days, 1)
        won = _about_deal("renewal", deal, 0.45 + 0.3 * nearness, deal.closed_at, due, days=left,
                          due_on=due.isoformat(), cycle=cycle)
        yield replace(won, subject=f"company:{deal.company_id}")


def gone_silent(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """An open deal with a burst of activity, then silence for silence_days."""
    for deal in facts.open_deals:
        if deal.burst_touches < s.burst_min or deal.last_touch_at is None:
            continue
        silent = _days(facts.now, deal.last_touch_at)
        if silent >= s.silence_days:
            yield _about_deal("gone_silent", deal, 0.5 + 0.3 * min((silent - s.silence_days) / s.silence_days, 1),
                              deal.last_touch_at, None, count=deal.burst_touches, days=silent)


def key_customer_quiet(facts: Facts, s: NbaSettings) -> Iterator[Candidate]:
    """A tier A or B customer not contacted for quiet_days[tier]."""
    for company in facts.companies.values():
        limit = s.quiet_days.get(company.tier or "")
        if not limit:
            continue
        # Never contacted at all counts as twice the limit.
        days = limit * 2 if company.last_contact_at is None else _days(facts.now, company.last_contact_at)
        if days >= limit:
            since = company.last_contact_at or facts.now - timedelta(days=days)
            yield _customer_candidate(facts, company, "key_customer_quiet",
                                      0.35 + 0.35 * min((days - limit) / limit, 1), since, tier=company.tier,
                                      days=days if company.last_contact_at else None)


RULES: dict[str, Rule] = {
    "buying_signal": buying_signal, "care_first": care_first, "task_overdue": task_overdue,
    "task_due_today": task_due_today, "quote_no_followup": quote_no_followup, "close_date": close_date,
    "new_lead": new_lead, "lead_untouched": lead_untouched, "deal_stalled": deal_stalled, "onboarding": onboarding,
    "renewal": renewal, "gone_silent": gone_silent, "key_customer_quiet": key_customer_quiet,
}


def candidates(facts: Facts, s: NbaSettings) -> list[Candidate]:
    """Run every rule that is on (weight above 0) over the facts."""
    found: list[Candidate] = []
    for name, rule in RULES.items():
        if s.rule_weight(name) > 0:
            found.extend(rule(facts, s))
    return found

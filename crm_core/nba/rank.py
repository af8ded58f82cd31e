"""The ranking: value × urgency × likelihood (crm_core.nba.settings), one action per subject (its best),
done and snoozed subjects held back until something changes. Pure: facts and candidates in, items out."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from crm_core.nba.facts import Facts, OutcomeFact
from crm_core.nba.rules import Candidate
from crm_core.nba.schemas import NextItem
from crm_core.nba.settings import NbaSettings


def amount_value(amount: Decimal | None, currency: str | None, s: NbaSettings) -> float | None:
    """√(amount in VND / large_deal), at most 1; None without an amount."""
    if amount is None or amount <= 0:
        return None
    rate = s.currency_rates.get(currency or "VND")
    if rate is None:
        return None
    return min(1.0, math.sqrt(float(amount * rate / s.large_deal)))


def value_of(c: Candidate, facts: Facts, s: NbaSettings) -> float:
    """The deal's amount and the customer's tier."""
    company = facts.companies.get(c.company_id) if c.company_id is not None else None
    tier = s.tier_values.get(company.tier or "C", s.tier_values.get("C", 0.3)) if company else s.tier_values.get(
        "C", 0.3)
    amount = amount_value(c.deal.amount, c.deal.currency, s) if c.deal is not None else None
    return tier if amount is None else 0.6 * amount + 0.4 * tier


def likelihood_of(c: Candidate, s: NbaSettings) -> tuple[float, str]:
    """The team's win rate from the deal's stage (history), its configured probability, or the default."""
    if c.deal is not None and c.deal.status == "open":
        return c.deal.stage.odds, c.deal.stage.odds_basis
    return s.likelihood_default, "default"


def subject_state(c: Candidate, facts: Facts) -> tuple[str, datetime | None]:
    """The subject's fingerprint and its latest touch: a done/snooze holds while both stay as they were."""
    kind = c.subject.split(":", 1)[0]
    if kind == "deal" and c.deal is not None:
        deal = c.deal
        dues = [t.due_at for t in facts.tasks if t.deal_id == deal.id and t.due_at is not None]
        first_due = min(dues).isoformat() if dues else "-"
        return f"{deal.status}|{deal.stage.id}|{deal.expected_close}|{first_due}", deal.last_touch_at
    if kind == "task":
        task = next((t for t in facts.tasks if t.id == c.task_id), None)
        return f"task|{task.due_at.isoformat() if task and task.due_at else '-'}", None
    if kind == "company" and c.company_id is not None and c.company_id in facts.companies:
        co = facts.companies[c.company_id]
        stamps = (co.open_ticket_at, co.low_csat_at, co.buying_question_at)
        return "company|" + "|".join(x.isoformat() if x else "-" for x in stamps), co.last_contact_at
    if kind == "lead":
        lead = next((x for x in facts.leads if x.id == c.lead_id), None)
        return "lead", lead.touched_at if lead else None
    return kind, None


def held_back(outcome: OutcomeFact | None, state: str, touched: datetime | None, now: datetime) -> bool:
    """Done or snoozed, and nothing changed since: same fingerprint, no newer touch, the snooze still running."""
    if outcome is None or outcome.state != state:
        return False
    if touched is not None and touched > outcome.at:
        return False
    return outcome.outcome == "done" or (outcome.until is not None and now < outcome.until)


def score(c: Candidate, facts: Facts, s: NbaSettings) -> NextItem:
    """Score one candidate."""
    value = value_of(c, facts, s)
    likelihood, basis = likelihood_of(c, s)
    total = s.w_value + s.w_urgency + s.w_likelihood or 1.0
    blend = (s.w_value * value + s.w_urgency * c.urgency + s.w_likelihood * likelihood) / total
    weight = s.rule_weight(c.rule) * s.stage_weight(c.deal.stage.key if c.deal is not None else None)
    if "lost_on" in c.facts:  # work for a customer whose deal was just lost
        weight *= s.lost_deal_factor
    state, _ = subject_state(c, facts)
    deal = c.deal
    return NextItem(rule=c.rule, score=round(min(1.0, weight * blend), 3), subject=c.subject, state=state,
                    facts=dict(c.facts), deal_id=deal.id if deal else None, deal=deal.title if deal else None,
                    deal_status=deal.status if deal else None, task_id=c.task_id, lead_id=c.lead_id,
                    company_id=c.company_id, company=c.company, contact_id=c.contact_id, contact=c.contact, due=c.due,
                    since=c.since, value=round(value, 3), urgency=round(c.urgency, 3),
                    likelihood=round(likelihood, 3), likelihood_basis=basis)


def rank(found: Iterable[Candidate], facts: Facts, s: NbaSettings) -> list[NextItem]:
    """Best first: one item per subject (its best), subjects done or snoozed held back, ties by age."""
    best: dict[str, NextItem] = {}
    for c in found:
        state, touched = subject_state(c, facts)
        if held_back(facts.outcomes.get(c.subject), state, touched, facts.now):
            continue
        item = score(c, facts, s)
        kept = best.get(c.subject)
        if kept is None or (item.score, -item.since.timestamp()) > (kept.score, -kept.since.timestamp()):
            best[c.subject] = item
    return sorted(best.values(), key=lambda i: (-i.score, i.since, i.subject))

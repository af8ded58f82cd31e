"""The highlights paragraph: facts picked by rules (worded from the text catalogue), or an LLM's paragraph
written from the figures only and kept only when every number in it is one of the figures."""

from __future__ import annotations

import asyncio
import logging
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from crm_core.reports.models import HighlightFact, Highlights, Money, Summary

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from crm_core.prompting import Prompt

log = logging.getLogger(__name__)

HIGHLIGHTS_PROMPT = "summary_highlights"
MAX_FACTS = 5
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}


def rule_facts(summary: Summary) -> list[HighlightFact]:
    """Pick what matters most in the figures, most important first (at most MAX_FACTS)."""
    facts: list[HighlightFact] = []
    deals = summary.deals
    if deals.won.count:
        facts.append(HighlightFact(key="won", values={"count": deals.won.count, "amount": deals.won.amount}))
    if deals.lost.count:
        facts.append(HighlightFact(key="lost", values={"count": deals.lost.count, "amount": deals.lost.amount}))
    if deals.created.count:
        facts.append(HighlightFact(key="created", values={"count": deals.created.count,
                                                          "amount": deals.created.amount}))
    worst = summary.tasks.overdue_by_owner[0] if summary.tasks.overdue_by_owner else None
    if worst is not None and worst.count:
        facts.append(HighlightFact(key="overdue", values={"name": worst.name, "count": worst.count}))
    if summary.stalled:
        facts.append(HighlightFact(key="stalled", values={"count": summary.stalled}))
    busiest = summary.activity[0] if summary.activity else None
    if summary.scope == "team" and busiest is not None and busiest.total:
        facts.append(HighlightFact(key="top_rep", values={"name": busiest.name, "count": busiest.total}))
    if summary.faq is not None and summary.faq.handoffs:
        facts.append(HighlightFact(key="handoffs", values={"count": summary.faq.handoffs,
                                                           "questions": summary.faq.questions}))
    if summary.leads_total:
        facts.append(HighlightFact(key="leads", values={"count": summary.leads_total}))
    if not facts:
        facts.append(HighlightFact(key="quiet", values={}))
    return facts[:MAX_FACTS]


def _money_line(amount: Money) -> str:
    parts = []
    for code, value in sorted(amount.items()):
        whole = int(value) if value == value.to_integral_value() else value
        millions = f" ({_plain(value / Decimal(1_000_000))} million)" if abs(value) >= 1_000_000 else ""
        parts.append(f"{code} {whole}{millions}")
    return "; ".join(parts) or "none"


def _plain(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.1')):f}"
    return text[:-2] if text.endswith(".0") else text


def figures_text(summary: Summary) -> str:
    """Write the figures as plain lines for the prompt; the only numbers the paragraph may use."""
    lines = [f"period: {summary.kind} {summary.first.isoformat()}"
             + (f" to {summary.last.isoformat()}" if summary.last != summary.first else "") + f" ({summary.scope})"]
    lines.append(f"interactions: {summary.interactions_total} (previous period {summary.previous_interactions})")
    for rep in summary.activity:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(rep.by_kind.items())) or "none"
        lines.append(f"  {rep.name}: {rep.total} ({kinds}); previous period {rep.previous_total}")
    lines.append(f"new leads: {summary.leads_total} ("
                 + ", ".join(f"{k} {v}" for k, v in sorted(summary.leads.items())) + ")")
    d = summary.deals
    lines.append(f"deals created: {d.created.count}, value {_money_line(d.created.amount)}")
    lines.append(f"deals moved: {d.moved}")
    lines.append(f"deals won: {d.won.count}, value {_money_line(d.won.amount)}")
    lines.append(f"deals lost: {d.lost.count}, value {_money_line(d.lost.amount)}")
    if d.win_rate is not None:
        lines.append(f"win rate: {round(d.win_rate * 100)}%")
    for stage in summary.pipeline:
        if stage.count:
            lines.append(f"pipeline {stage.name_en}: {stage.count} deals, value {_money_line(stage.amount)}")
    lines.append(f"forecast {summary.forecast.month}: {_money_line(summary.forecast.amount)}")
    lines.append(f"overdue tasks: {summary.tasks.overdue}"
                 + "".join(f"; {o.name} {o.count}" for o in summary.tasks.overdue_by_owner))
    lines.append(f"stalled deals: {summary.stalled}")
    if summary.faq is not None:
        faq = summary.faq
        lines.append(f"FAQ bot: {faq.questions} questions, {faq.answered} answered, {faq.handoffs} handed off, "
                     f"{faq.resolved} resolved")
        if faq.csat is not None:
            lines.append(f"customer rating: {faq.csat} from {faq.csat_count} ratings")
    return "\n".join(lines)


def numbers_in(text: str) -> set[str]:
    """Return the numbers written in `text`, separators removed ("1.200.000" and "1,200,000" are one number)."""
    return {re.sub(r"[.,]", "", n).lstrip("0") or "0" for n in _NUMBER_RE.findall(text)}


def only_known_numbers(paragraph: str, figures: str) -> bool:
    """Tell whether every number in `paragraph` is written in `figures`."""
    return numbers_in(paragraph) <= numbers_in(figures)


async def written_highlights(summary: Summary, *, model: BaseChatModel, prompt: Prompt, language: str,
                             timeout_s: float) -> Highlights:
    """Ask the model for the paragraph; keep it only when it adds no number; otherwise the rules' facts."""
    facts = rule_facts(summary)
    figures = figures_text(summary)
    try:
        message = prompt.render(figures=figures, language=_LANGUAGE_NAMES.get(language, "Vietnamese"))
        reply = await asyncio.wait_for(model.ainvoke(message), timeout=timeout_s)
    except Exception as error:  # the rules' paragraph stands on its own
        log.warning("LLM highlights failed (%s); the rules' paragraph is used", type(error).__name__)
        return Highlights(facts=facts)
    text = " ".join(str(getattr(reply, "content", reply)).split())
    if not text or not only_known_numbers(text, figures):
        log.warning("LLM highlights dropped: empty or a number that is not in the figures")
        return Highlights(facts=facts)
    return Highlights(facts=facts, text=text[:1200], prompt=prompt.ref)

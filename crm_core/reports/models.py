"""What a summary holds: typed figures, ready for a chat message, a chart or `chatcrm summary --json`.

Money is always a mapping currency -> amount in major units (`Decimal`): VND and USD are never added.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from crm_core.money import rounded
from crm_core.nba.schemas import NbaStats, NextItem
from crm_core.reports.periods import PeriodKind
from crm_core.schemas import TaskOut

Money = dict[str, Decimal]
T = TypeVar("T")
Scope = Literal["team", "own"]
LeadSource = Literal["faq_bot", "import", "manual"]
LEAD_SOURCES: tuple[LeadSource, ...] = ("faq_bot", "import", "manual")


class RepActivity(BaseModel):
    """One salesperson's logged interactions in the period, by kind, and in the period before."""

    user_id: int
    name: str
    by_kind: dict[str, int] = Field(default_factory=dict)
    previous_by_kind: dict[str, int] = Field(default_factory=dict)

    @property
    def total(self) -> int:
        """Return every interaction of the period."""
        return sum(self.by_kind.values())

    @property
    def previous_total(self) -> int:
        """Return every interaction of the period before."""
        return sum(self.previous_by_kind.values())

    @property
    def change(self) -> int:
        """Return the change against the period before (▲ positive, ▼ negative)."""
        return self.total - self.previous_total


class CountAndMoney(BaseModel):
    """How many deals, and their value per currency."""

    count: int = 0
    amount: Money = Field(default_factory=dict)


class DealFigures(BaseModel):
    """Deals created, moved between open stages, won and lost in the period."""

    created: CountAndMoney = Field(default_factory=CountAndMoney)
    moved: int = 0
    won: CountAndMoney = Field(default_factory=CountAndMoney)
    lost: CountAndMoney = Field(default_factory=CountAndMoney)

    @property
    def win_rate(self) -> float | None:
        """Return won / (won + lost) of the period; None when nothing closed."""
        closed = self.won.count + self.lost.count
        return self.won.count / closed if closed else None


class StageFigures(BaseModel):
    """Open deals at one stage: how many, their value and their value weighted by the stage's probability."""

    key: str
    name_vi: str
    name_en: str
    position: int
    probability: int  # in percent: the team's win rate from the stage (history) or its configured probability
    basis: Literal["history", "configured"] = "configured"
    count: int = 0
    amount: Money = Field(default_factory=dict)
    weighted: Money = Field(default_factory=dict)

    def name(self, language: str) -> str:
        """Return the stage's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


class StageOdds(BaseModel):
    """The probability the forecast used for one stage, and where it came from."""

    key: str
    probability: float  # 0..1
    basis: Literal["history", "configured"]
    closed_deals: int  # closed deals that passed through the stage (history is used from MIN_HISTORY on)


class Forecast(BaseModel):
    """Expected revenue of the month: sum of amount × probability over open deals closing by its end."""

    month: str  # YYYY-MM
    amount: Money = Field(default_factory=dict)
    deals: int = 0
    undated: int = 0  # deals without an expected close date, counted in (they are open now)
    odds: list[StageOdds] = Field(default_factory=list)

    @property
    def basis(self) -> Literal["history", "configured", "mixed"]:
        """Say whether the probabilities came from the team's history, the configured stages, or both."""
        kinds = {o.basis for o in self.odds}
        return "mixed" if len(kinds) > 1 else (kinds.pop() if kinds else "configured")


class OwnerCount(BaseModel):
    """A count for one staff member (overdue tasks); `user_id` None: nobody's."""

    user_id: int | None
    name: str
    count: int


class StalledDeal(BaseModel):
    """An open deal that stayed at its stage longer than the stage's limit."""

    id: int
    title: str
    owner_id: int | None
    owner: str | None
    stage_key: str
    stage_vi: str
    stage_en: str
    days: int
    amount: Decimal | None
    currency: str | None


class TaskFigures(BaseModel):
    """Tasks due in the period, and those overdue at its end (or now, for the current period), by owner."""

    due: int = 0
    overdue: int = 0
    overdue_by_owner: list[OwnerCount] = Field(default_factory=list)


class FaqFigures(BaseModel):
    """The FAQ bot's period, defined as the large support tools do.

    resolved: answered by the bot, no person asked for afterwards, no 👎 within 24 hours of the answer.
    """

    questions: int = 0
    answered: int = 0
    handoffs: int = 0
    handoffs_by_reason: dict[str, int] = Field(default_factory=dict)
    resolved: int = 0
    csat: float | None = None
    csat_count: int = 0

    @property
    def resolution_rate(self) -> float | None:
        """Return resolved / questions; None without questions."""
        return self.resolved / self.questions if self.questions else None


class HighlightFact(BaseModel):
    """One fact the rules picked for the highlights paragraph: a text key's name and its values."""

    key: str
    values: dict[str, Any] = Field(default_factory=dict)


class Highlights(BaseModel):
    """The paragraph on top: facts for the rules' wording, or a text an LLM wrote from the figures only."""

    facts: list[HighlightFact] = Field(default_factory=list)
    text: str | None = None  # the LLM's paragraph, when one was written and checked
    prompt: str | None = None  # which prompt version wrote `text` ("summary_highlights@1")

    @property
    def source(self) -> Literal["llm", "rules"]:
        """Say who wrote the paragraph."""
        return "llm" if self.text else "rules"


class Summary(BaseModel):
    """The figures of one period as one viewer may see them."""

    kind: PeriodKind
    first: date
    last: date
    key: str
    as_of: datetime
    scope: Scope
    viewer_id: int
    activity: list[RepActivity] = Field(default_factory=list)
    interactions_by_kind: dict[str, int] = Field(default_factory=dict)
    interactions_unowned: int = 0
    previous_interactions: int = 0
    # The days the activity is compared with: the period before, or its same first days while this one runs.
    previous_first: date | None = None
    previous_last: date | None = None
    leads: dict[str, int] = Field(default_factory=dict)
    deals: DealFigures = Field(default_factory=DealFigures)
    pipeline: list[StageFigures] = Field(default_factory=list)
    forecast: Forecast
    tasks: TaskFigures = Field(default_factory=TaskFigures)
    stalled: int = 0
    stalled_by_stage: dict[str, int] = Field(default_factory=dict)
    faq: FaqFigures | None = None  # the team's only
    highlights: Highlights = Field(default_factory=Highlights)
    # How the next-best-action suggestions were answered over the 30 days to `as_of`, per rule (managers').
    nba: NbaStats | None = None

    @property
    def interactions_total(self) -> int:
        """Return every interaction of the period."""
        return sum(self.interactions_by_kind.values())

    @property
    def leads_total(self) -> int:
        """Return every new lead of the period."""
        return sum(self.leads.values())

    def as_json(self, *, rules_text: str | None = None) -> dict[str, Any]:
        """Return `chatcrm summary --json` (docs/interfaces.md): every documented key, and more.

        `rules_text`: the rules' paragraph in the reader's words, given as highlights.text when no LLM wrote one
        (highlights.source says which wrote it)."""
        faq = self.faq
        return {
            "date": self.first.isoformat(), "period": self.kind, "first": self.first.isoformat(),
            "last": self.last.isoformat(), "scope": self.scope,
            "interactions": {"total": self.interactions_total, "by_kind": dict(self.interactions_by_kind),
                             "by_rep": {a.name: a.total for a in self.activity if a.total},
                             "previous_total": self.previous_interactions,
                             "previous_first": self.previous_first.isoformat() if self.previous_first else None,
                             "previous_last": self.previous_last.isoformat() if self.previous_last else None,
                             "by_rep_kind": {a.name: dict(a.by_kind) for a in self.activity if a.total},
                             "change_by_rep": {a.name: a.change for a in self.activity}},
            "leads_new": self.leads_total, "leads_by_source": dict(self.leads),
            "deals": {"created": self.deals.created.count, "created_amount": _money(self.deals.created.amount),
                      "moved": self.deals.moved, "won": _count_money(self.deals.won),
                      "lost": _count_money(self.deals.lost), "win_rate": _rate(self.deals.win_rate)},
            "pipeline": [{"stage": s.key, "name": s.name_vi, "name_en": s.name_en, "count": s.count,
                          "amount": _money(s.amount), "weighted": _money(s.weighted),
                          "probability": s.probability, "basis": s.basis} for s in self.pipeline],
            "forecast": {"month": self.forecast.month, "amount": _money(self.forecast.amount),
                         "deals": self.forecast.deals, "undated": self.forecast.undated,
                         "basis": self.forecast.basis,
                         "odds": [{"stage": o.key, "probability": round(o.probability, 4), "basis": o.basis,
                                   "closed_deals": o.closed_deals} for o in self.forecast.odds]},
            "tasks": {"overdue": self.tasks.overdue, "due_today": self.tasks.due,
                      "overdue_by_owner": {o.name: o.count for o in self.tasks.overdue_by_owner}},
            "stalled": {"count": self.stalled, "by_stage": dict(self.stalled_by_stage)},
            "faq": None if faq is None else {
                "questions": faq.questions, "answered": faq.answered, "handoffs": faq.handoffs, "csat": faq.csat,
                "csat_count": faq.csat_count, "handoffs_by_reason": dict(faq.handoffs_by_reason),
                "resolved": faq.resolved, "resolution_rate": _rate(faq.resolution_rate)},
            "highlights": {"source": self.highlights.source, "text": self.highlights.text or rules_text,
                           "prompt": self.highlights.prompt,
                           "facts": [f.model_dump(mode="json") for f in self.highlights.facts]},
            "nba": self.nba.as_json() if self.nba is not None else None,
        }


class PipelineReport(BaseModel):
    """`/pipeline` and `/forecast`: open deals now, by stage, and the month's forecast."""

    as_of: datetime
    scope: Scope
    pipeline: list[StageFigures]
    forecast: Forecast
    stalled: int


class Page(BaseModel, Generic[T]):
    """One page of a drill-in list."""

    items: list[T]
    page: int
    pages: int
    total: int


class ActivityLine(BaseModel):
    """One interaction in a salesperson's drill-in."""

    id: int
    kind: str
    occurred_at: datetime
    summary: str
    company: str | None
    contact: str | None


class HandoffLine(BaseModel):
    """One question the bot handed to a person."""

    id: int
    question: str
    reason: str | None
    asked_at: datetime
    ticket_id: int | None


class Digest(BaseModel):
    """A salesperson's morning: tasks due today, overdue ones, their deals that need them."""

    user_id: int
    day: date
    today: list[TaskOut] = Field(default_factory=list)
    overdue: list[TaskOut] = Field(default_factory=list)
    stalled: list[StalledDeal] = Field(default_factory=list)
    # The top next-best-actions (crm_core.nba), best first.
    actions: list[NextItem] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Tell whether there is nothing to say (no digest is sent then)."""
        return not (self.today or self.overdue or self.stalled or self.actions)


def _money(amount: Money) -> dict[str, int | float]:
    """Major units as JSON numbers, rounded to the currency's smallest unit (whole đồng): whole ones as integers."""
    shown = {code: rounded(value, code) for code, value in amount.items()}
    return {code: int(value) if value == value.to_integral_value() else float(value)
            for code, value in sorted(shown.items())}


def _count_money(value: CountAndMoney) -> dict[str, Any]:
    return {"count": value.count, "amount": _money(value.amount)}


def _rate(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None

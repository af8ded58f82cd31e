"""What next-best-action returns: ranked items with the facts their reasons rest on."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

FactValue = str | int | None


class NextItem(BaseModel):
    """One suggested action: the rule that made it, its score and the facts its reason is worded from."""

    rule: str
    score: float
    subject: str  # "deal:42", "task:7", "company:3", "lead:5": one action per subject
    state: str  # the subject's fingerprint now (a done/snooze holds while it stays the same)
    facts: dict[str, FactValue] = Field(default_factory=dict)
    deal_id: int | None = None
    deal: str | None = None
    deal_status: str | None = None
    task_id: int | None = None
    lead_id: int | None = None
    company_id: int | None = None
    company: str | None = None
    contact_id: int | None = None
    contact: str | None = None
    due: date | None = None
    since: datetime
    # The parts of the score, for anyone asking why this order.
    value: float = 0.0
    urgency: float = 0.0
    likelihood: float = 0.0
    likelihood_basis: str = "default"
    # The reason as the optional LLM reworded it from the facts (crm_core.nba.phrasing), and the prompt
    # ("nba_reason@1") that wrote it; None: the rules' text is shown.
    reason: str | None = None
    reason_prompt: str | None = None


class NextList(BaseModel):
    """One salesperson's ranked actions (a page of them) and how many there are in all."""

    user_id: int
    name: str
    items: list[NextItem] = Field(default_factory=list)
    total: int = 0
    offset: int = 0


class RuleStats(BaseModel):
    """How one rule's suggestions were answered over the period: done, snoozed, or shown and left."""

    rule: str
    shown: int = 0
    done: int = 0
    snoozed: int = 0
    ignored: int = 0
    mostly_snoozed: bool = False


class NbaStats(BaseModel):
    """Acceptance of the suggestions per rule over `days`."""

    days: int
    since: datetime
    rules: list[RuleStats] = Field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """The JSON of `chatcrm next --stats --json`."""
        return {"days": self.days, "since": self.since.isoformat(),
                "rules": [r.model_dump() for r in self.rules],
                "mostly_snoozed": [r.rule for r in self.rules if r.mostly_snoozed]}


class Outcome(BaseModel):
    """A salesperson's answer recorded: done (with what was logged) or snoozed until a time."""

    subject: str
    rule: str
    outcome: str
    until: datetime | None = None
    task_done: int | None = None
    logged: int | None = None  # the interaction written for a done that was not a task

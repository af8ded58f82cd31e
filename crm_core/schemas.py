"""What services return: plain pydantic values, never ORM rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel


class UserOut(BaseModel):
    """A staff member."""

    id: int
    name: str
    role: str
    telegram_id: int | None
    language: str
    active: bool


class StageOut(BaseModel):
    """A pipeline stage."""

    id: int
    key: str
    name_vi: str
    name_en: str
    position: int
    probability: int
    stalled_after_days: int | None
    is_won: bool
    is_lost: bool

    def name(self, language: str) -> str:
        """Return the stage's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


class DealOut(BaseModel):
    """A deal, with names resolved."""

    id: int
    title: str
    company_id: int | None
    company: str | None
    contact: str | None
    owner_id: int | None
    owner: str | None
    stage: StageOut
    amount: Decimal | None
    currency: str | None
    quantity: int | None
    status: str
    expected_close: date | None
    created_at: datetime
    stage_changed_at: datetime
    stalled_days: int | None = None


class InteractionOut(BaseModel):
    """A logged interaction."""

    id: int
    kind: str
    occurred_at: datetime
    summary: str
    contact: str | None
    company: str | None
    owner: str | None
    deal_id: int | None


class TaskOut(BaseModel):
    """A follow-up task."""

    id: int
    title: str
    due_at: datetime | None
    owner_id: int | None
    owner: str | None
    company: str | None
    contact: str | None
    deal_id: int | None
    done: bool


class ContactOut(BaseModel):
    """A person."""

    id: int
    name: str
    company_id: int | None
    company: str | None
    title: str | None
    phone: str | None
    email: str | None


class CompanyOut(BaseModel):
    """An organisation."""

    id: int
    name: str
    industry: str | None
    phone: str | None
    email: str | None
    address: str | None


class NameMatch(BaseModel):
    """A record found by name, with how well it matched (0-100)."""

    kind: str
    id: int
    name: str
    company: str | None = None
    score: float
    exact: bool


class Customer360(BaseModel):
    """Everything about one company in one place."""

    company: CompanyOut
    contacts: list[ContactOut]
    deals: list[DealOut]
    interactions: list[InteractionOut]
    open_tasks: list[TaskOut]


class TaskBuckets(BaseModel):
    """Open tasks grouped the way a salesperson plans the day."""

    overdue: list[TaskOut]
    today: list[TaskOut]
    upcoming: list[TaskOut]
    later: int = 0


class SavedLog(BaseModel):
    """What saving a log created or changed."""

    draft_id: int
    interaction_id: int
    task_id: int | None
    deal_id: int | None
    deal_created: bool
    company_id: int | None
    company_created: bool
    contact_id: int | None
    contact_created: bool
    undo_until: datetime

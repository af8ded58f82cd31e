"""ORM rows to the schemas services return."""

from __future__ import annotations

from datetime import datetime

from crm_core.models import Company, Contact, Deal, Interaction, Stage, Task
from crm_core.schemas import (
    CompanyOut,
    ContactOut,
    DealOut,
    InteractionOut,
    StageOut,
    TaskOut,
)
from crm_core.services.identities import user_out

__all__ = ["company_out", "contact_out", "deal_out", "interaction_out", "stage_out", "task_out", "user_out"]


def stage_out(stage: Stage) -> StageOut:
    """Convert a stage row."""
    return StageOut(id=stage.id, key=stage.key, name_vi=stage.name_vi, name_en=stage.name_en,
                    position=stage.position, probability=stage.probability,
                    stalled_after_days=stage.stalled_after_days, is_won=stage.is_won, is_lost=stage.is_lost,
                    pipeline_id=stage.pipeline_id)


def deal_out(deal: Deal, *, now: datetime | None = None) -> DealOut:
    """Convert a deal row; with `now`, say how long it has been stalled."""
    stalled: int | None = None
    limit = deal.stage.stalled_after_days
    if now is not None and deal.status == "open" and limit is not None:
        idle_days = (now - deal.stage_changed_at).days
        stalled = idle_days if idle_days > limit else None
    return DealOut(
        id=deal.id, title=deal.title, company_id=deal.company_id,
        company=deal.company.name if deal.company else None,
        contact=deal.contact.name if deal.contact else None,
        owner_id=deal.owner_id, owner=deal.owner.name if deal.owner else None,
        stage=stage_out(deal.stage), amount=deal.amount, currency=deal.currency, quantity=deal.quantity,
        status=deal.status, expected_close=deal.expected_close, created_at=deal.created_at,
        stage_changed_at=deal.stage_changed_at, stalled_days=stalled, lost_reason=deal.lost_reason,
    )


def interaction_out(row: Interaction) -> InteractionOut:
    """Convert an interaction row (relations loaded)."""
    return InteractionOut(id=row.id, kind=row.kind, occurred_at=row.occurred_at, summary=row.summary,
                          contact=row.contact.name if row.contact else None,
                          company=row.company.name if row.company else None,
                          owner=row.owner.name if row.owner else None, deal_id=row.deal_id,
                          company_id=row.company_id, contact_id=row.contact_id, owner_id=row.owner_id,
                          source=row.source)


def task_out(task: Task, owner_name: str | None = None) -> TaskOut:
    """Convert a task row (relations loaded)."""
    return TaskOut(id=task.id, title=task.title, due_at=task.due_at, owner_id=task.owner_id, owner=owner_name,
                   company=task.company.name if task.company else None,
                   contact=task.contact.name if task.contact else None, deal_id=task.deal_id,
                   done=task.done_at is not None)


def company_out(company: Company) -> CompanyOut:
    """Convert a company row."""
    return CompanyOut(id=company.id, name=company.name, industry=company.industry, phone=company.phone,
                      email=company.email, address=company.address)


def contact_out(contact: Contact, company_name: str | None = None) -> ContactOut:
    """Convert a contact row."""
    return ContactOut(id=contact.id, name=contact.name, company_id=contact.company_id, company=company_name,
                      title=contact.title, phone=contact.phone, email=contact.email)

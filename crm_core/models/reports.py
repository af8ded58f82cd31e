"""What the summaries need stored: each push claimed once, each person's push times, the forecast's stored
history, and the report indexes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.activities import Interaction, Task
from crm_core.models.base import Base, UtcDateTime
from crm_core.models.people import Contact
from crm_core.models.sales import Deal, DealStageChange
from crm_core.models.support import Ticket

PUSH_KINDS = ("summary", "digest")


class ScheduledPush(Base):
    """One scheduled push claimed for one person, kind and period ("summary" of 2026-11-23 for user 3).

    The unique key is the claim: whichever scheduler inserts the row first sends the push, in the
    same transaction as its outbox row, so two ticks or two processes never send it twice.
    """

    __tablename__ = "scheduled_pushes"
    __table_args__ = (UniqueConstraint("user_id", "kind", "period", name="uq_scheduled_pushes_user_kind_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PushPreference(Base):
    """A staff member's own push times ("HH:MM" local) and mutes; absent: the team's defaults."""

    __tablename__ = "push_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    summary_time: Mapped[str | None] = mapped_column(String(5))
    summary_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_time: Mapped[str | None] = mapped_column(String(5))
    digest_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WinRateSnapshot(Base):
    """The team's closed deals through each stage, counted once for the deals closed before `boundary`.

    `boundary` is a month's first instant (local); `fingerprint` says which deals were counted (their number
    and id sum per status), so a reopened, deleted or back-dated deal makes the row stale. See
    crm_core.reports.winrates.
    """

    __tablename__ = "win_rate_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    boundary: Mapped[datetime] = mapped_column(UtcDateTime, unique=True)
    fingerprint: Mapped[str] = mapped_column(String(200))
    # {"<stage id>": [won, closed]}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)


# The date ranges the summary filters on (migration 0009); declared here so the models and the schema agree.
REPORT_INDEXES = (
    Index("ix_deals_created_at", Deal.created_at),
    Index("ix_deals_closed_at", Deal.closed_at),
    Index("ix_deal_stage_changes_changed_at", DealStageChange.changed_at),
    Index("ix_contacts_created_at", Contact.created_at),
    Index("ix_tickets_csat_at", Ticket.csat_at),
    # Covering indexes of the summary's aggregates (migration 0011; measured by `chatcrm bench summary`).
    Index("ix_tasks_owner_id_due_at_done_at", Task.owner_id, Task.due_at, Task.done_at),
    Index("ix_deals_status_closed_at", Deal.status, Deal.closed_at),
    Index("ix_deal_stage_changes_deal_id_to_stage_id", DealStageChange.deal_id, DealStageChange.to_stage_id),
    Index("ix_interactions_occurred_at_owner_id_kind_source", Interaction.occurred_at, Interaction.owner_id,
          Interaction.kind, Interaction.source),
)

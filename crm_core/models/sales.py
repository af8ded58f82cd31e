"""Pipelines and their stages, deals and their stage history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime
from crm_core.models.people import SOURCE_LENGTH, Company, Contact, User


class Pipeline(Base):
    """A sales process: the general one by default, or an industry template."""

    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.position")


class Stage(Base):
    """One step of a pipeline, with its win probability and stall limit."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("pipeline_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    key: Mapped[str] = mapped_column(String(40))
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    stalled_after_days: Mapped[int | None] = mapped_column(Integer)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)
    is_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    # A removed stage is kept (its deals moved elsewhere first) so the stage history of deals still reads.
    archived: Mapped[bool] = mapped_column(Boolean, default=False)

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

    def name(self, language: str) -> str:
        """Return the stage's name in `language`."""
        return self.name_vi if language == "vi" else self.name_en


class Deal(Base):
    """A sales opportunity with a company."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), info={FREE_TEXT: True})  # and its title_folded
    title_folded: Mapped[str] = mapped_column(String(200), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    expected_close: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stage_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Why a lost deal was lost: a key of crm_core/pipelines/data/lost_reasons.json, or the salesperson's words.
    lost_reason: Mapped[str | None] = mapped_column(String(200), info={FREE_TEXT: True})
    source: Mapped[str | None] = mapped_column(String(SOURCE_LENGTH))

    stage: Mapped[Stage] = relationship()
    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User | None] = relationship()


class DealStageChange(Base):
    """A move of a deal from one stage to another."""

    __tablename__ = "deal_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(200), info={FREE_TEXT: True})

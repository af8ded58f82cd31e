"""What next-best-action keeps: each salesperson's answer to a suggestion (done, snoozed, shown) and the
customers' value tiers recomputed nightly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime

NBA_OUTCOMES = ("shown", "done", "snoozed")


class NbaOutcome(Base):
    """A salesperson's answer to one suggestion: done, snoozed until a time, or only shown (for the stats).

    `subject` is what the suggestion is about ("deal:42", "task:7", "company:3", "lead:5"); `state` the
    subject's fingerprint when answered (stage, expected close, due date…): a done or snoozed subject stays
    hidden while its fingerprint is the same and nobody has touched it since `at`.
    """

    __tablename__ = "nba_outcomes"
    __table_args__ = (Index("ix_nba_outcomes_user_id_subject", "user_id", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(String(300), info={FREE_TEXT: True})


class CustomerTier(Base):
    """A company's value tier (A, B, C) from revenue won, open pipeline, recency and frequency."""

    __tablename__ = "customer_tiers"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(1))
    score: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    revenue_won: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    open_pipeline: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    interactions: Mapped[int] = mapped_column(Integer)
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)

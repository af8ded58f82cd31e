"""Next-best-action's weights and thresholds (CHATCRM_NBA__…), documented here and in the README.

score = rule weight × stage weight × (w_value·value + w_urgency·urgency + w_likelihood·likelihood)
        / (w_value + w_urgency + w_likelihood), at most 1

    value       0.6 × the deal's amount (√(amount / large_deal), at most 1) + 0.4 × the customer's tier
                (A 1, B 0.6, C and unknown 0.3); without an amount, the tier alone
    urgency     each rule's own, 0..1: how late, how soon (see crm_core/nba/rules.py)
    likelihood  the team's win rate from the deal's stage once `min_history` deals closed through it, else
                the stage's configured probability; rules without a deal use `likelihood_default`
Ties are broken by age: the older thing first.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

RULE_NAMES = ("buying_signal", "care_first", "task_overdue", "task_due_today", "quote_no_followup", "close_date",
              "new_lead", "lead_untouched", "deal_stalled", "onboarding", "renewal", "gone_silent",
              "key_customer_quiet")


class StageRule(BaseModel):
    """Per-stage overrides, keyed by stage key (`CHATCRM_NBA__STAGES='{"quote": {"followup_days": 2}}'`)."""

    # Days after a quote was sent with no contact before "follow up the quote" (quote stages only).
    followup_days: int | None = None
    # Multiplies the score of every suggestion about a deal in this stage.
    weight: float = Field(default=1.0, ge=0, le=3)


class NbaSettings(BaseModel):
    """Weights and thresholds of the rules and the ranking."""

    w_value: float = Field(default=0.35, ge=0)
    w_urgency: float = Field(default=0.5, ge=0)
    w_likelihood: float = Field(default=0.15, ge=0)
    # How much each rule counts, 0..1.5; a rule at 0 is off.
    rule_weights: dict[str, float] = Field(default_factory=lambda: {
        "buying_signal": 1.0, "care_first": 0.95, "task_overdue": 0.95, "quote_no_followup": 0.95,
        "task_due_today": 0.9, "close_date": 0.9, "new_lead": 0.9, "lead_untouched": 0.85, "deal_stalled": 0.8,
        "onboarding": 0.8, "renewal": 0.75, "gone_silent": 0.75, "key_customer_quiet": 0.7})
    # The deal amount (in VND) that counts as full value; smaller deals count √(amount / large_deal).
    large_deal: Decimal = Decimal(2_000_000_000)
    # To compare deals in other currencies with VND ones (value only; amounts are never added across currencies).
    currency_rates: dict[str, Decimal] = Field(default_factory=lambda: {
        "VND": Decimal(1), "USD": Decimal(25_000), "EUR": Decimal(27_000)})
    tier_values: dict[str, float] = Field(default_factory=lambda: {"A": 1.0, "B": 0.6, "C": 0.3})
    likelihood_default: float = Field(default=0.5, ge=0, le=1)
    # Closed deals through a stage before the team's win rate replaces the configured probability.
    min_history: int = Field(default=20, ge=1)
    # Expected close within this many days (or passed): "close it".
    close_soon_days: int = Field(default=3, ge=0)
    quote_stage_keys: list[str] = Field(default_factory=lambda: ["quote"])
    quote_followup_days: int = Field(default=3, ge=1)
    # A stalled deal touched this recently is not suggested (the salesperson is on it).
    stalled_touch_grace_days: int = Field(default=2, ge=0)
    # Tier A/B customers not contacted for this many days.
    quiet_days: dict[str, int] = Field(default_factory=lambda: {"A": 21, "B": 45})
    # Shares of customers (by score) in tier A and B; the rest are C.
    tier_shares: dict[str, float] = Field(default_factory=lambda: {"A": 0.2, "B": 0.3})
    # Local hour after which the nightly tier recomputation runs (once a day).
    tiers_hour: int = Field(default=2, ge=0, le=23)
    lead_sla_hours: int = Field(default=24, ge=1)
    onboarding_days: int = Field(default=7, ge=1)
    # Product cycle per pipeline key (days from a won deal to the renewal or re-order); absent: no renewal.
    renewal_days: dict[str, int] = Field(default_factory=lambda: {"general": 365, "manufacturing": 90,
                                                                  "shipping": 30, "education": 180})
    renewal_lead_days: int = Field(default=14, ge=0)
    low_csat: int = Field(default=2, ge=1, le=5)
    csat_days: int = Field(default=30, ge=1)
    # A task about a customer whose deal was lost within this many days (and no deal left open) has its score
    # scaled by lost_deal_factor, and says so: it may no longer be worth doing.
    lost_deal_days: int = Field(default=14, ge=0)
    lost_deal_factor: float = Field(default=0.5, ge=0, le=1)
    buying_question_hours: int = Field(default=24, ge=1)
    burst_min: int = Field(default=3, ge=2)
    burst_days: int = Field(default=14, ge=1)
    silence_days: int = Field(default=7, ge=1)
    # How many of the top actions the morning digest lists.
    digest_items: int = Field(default=5, ge=0, le=20)
    # "Snooze" hides a suggestion until this local hour of the next day.
    snooze_hour: int = Field(default=8, ge=0, le=23)
    # A rule whose answered suggestions are snoozed at least this often is shown to admins (at least 5 answers).
    snoozed_flag_share: float = Field(default=0.6, ge=0, le=1)
    stages: dict[str, StageRule] = Field(default_factory=lambda: {"quote": StageRule(followup_days=3)})

    def rule_weight(self, rule: str) -> float:
        """Return how much `rule` counts (1 when not configured)."""
        return self.rule_weights.get(rule, 1.0)

    def stage_weight(self, stage_key: str | None) -> float:
        """Return the multiplier of suggestions about a deal in `stage_key`."""
        rule = self.stages.get(stage_key or "")
        return rule.weight if rule is not None else 1.0

    def followup_days(self, stage_key: str) -> int:
        """Return the days a quote of `stage_key` may wait for a follow-up."""
        rule = self.stages.get(stage_key)
        return rule.followup_days if rule is not None and rule.followup_days else self.quote_followup_days

"""The pipeline's weighted values and the forecast use one probability per stage (crm_core.reports.forecast)."""

from __future__ import annotations

from decimal import Decimal

from crm_core.reports.forecast import MIN_HISTORY, StageInfo, build_pipeline

QUOTE = StageInfo(id=4, key="quote", name_vi="Báo giá", name_en="Quote", position=4, probability=60)
NEW = StageInfo(id=1, key="new", name_vi="Mới", name_en="New", position=1, probability=10)
ROWS = [(4, "VND", "month", 1, Decimal(1_000_000_000)), (1, "VND", "month", 1, Decimal(100_000_000))]


def test_a_stage_with_enough_closed_deals_is_weighted_by_its_win_rate_as_in_the_forecast() -> None:
    history = {QUOTE.id: (MIN_HISTORY // 4, MIN_HISTORY)}  # won a quarter of them

    pipeline, forecast = build_pipeline(ROWS, [QUOTE, NEW], history, "2026-11")

    quote = next(s for s in pipeline if s.key == "quote")
    assert (quote.probability, quote.basis) == (25, "history")
    assert quote.weighted == {"VND": Decimal(250_000_000)}
    new = next(s for s in pipeline if s.key == "new")
    assert (new.probability, new.basis) == (10, "configured")
    assert forecast.amount == {"VND": sum(s.weighted["VND"] for s in pipeline)}


def test_without_enough_history_both_use_the_configured_probability() -> None:
    pipeline, forecast = build_pipeline(ROWS, [QUOTE, NEW], {QUOTE.id: (1, MIN_HISTORY - 1)}, "2026-11")

    quote = next(s for s in pipeline if s.key == "quote")
    assert (quote.probability, quote.basis, quote.weighted) == (60, "configured", {"VND": Decimal(600_000_000)})
    assert forecast.amount == {"VND": Decimal(610_000_000)}

"""Pipeline by stage and the month's forecast, from the aggregate rows (pure: values in, values out).

    weighted  = amount × p(stage)
    forecast  = Σ over open deals closing by the month's end (or undated) of amount × p(stage), where
                p(stage) = the team's win rate of closed deals that passed through the stage, once at
                least MIN_HISTORY of them closed; else the stage's configured probability.
One probability per stage, so one message never weights the same stage two ways.
Every sum is per currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from crm_core.reports.figures import CENT
from crm_core.reports.models import Forecast, StageFigures, StageOdds

MIN_HISTORY = 20


@dataclass(frozen=True)
class StageInfo:
    """A stage as the pipeline lists it."""

    id: int
    key: str
    name_vi: str
    name_en: str
    position: int
    probability: int
    listed: bool = True  # a stage of the default pipeline, listed even when empty


def stage_odds(stage: StageInfo, history: Mapping[int, tuple[int, int]]) -> StageOdds:
    """Return the probability the forecast uses for `stage`, saying whether history or configuration gave it."""
    won, closed = history.get(stage.id, (0, 0))
    if closed >= MIN_HISTORY:
        return StageOdds(key=stage.key, probability=won / closed, basis="history", closed_deals=closed)
    return StageOdds(key=stage.key, probability=stage.probability / 100, basis="configured", closed_deals=closed)


def _times(amount: Decimal, share: Decimal) -> Decimal:
    return (amount * share).quantize(CENT)


def _share(stage: StageInfo, history: Mapping[int, tuple[int, int]]) -> Decimal:
    """The exact fraction behind `stage_odds` (won / closed, or the configured percentage)."""
    won, closed = history.get(stage.id, (0, 0))
    return Decimal(won) / Decimal(closed) if closed >= MIN_HISTORY else Decimal(stage.probability) / 100


def build_pipeline(rows: Iterable[tuple[int, str, str, int, Decimal]], stages: Iterable[StageInfo],
                   history: Mapping[int, tuple[int, int]], month: str) -> tuple[list[StageFigures], Forecast]:
    """Sum the open-deal rows (stage id, currency, horizon, count, value) into stages and the forecast."""
    by_id = {s.id: s for s in stages}
    odds = {s.id: stage_odds(s, history) for s in by_id.values()}
    figures = {s.id: StageFigures(key=s.key, name_vi=s.name_vi, name_en=s.name_en, position=s.position,
                                  probability=round(odds[s.id].probability * 100), basis=odds[s.id].basis)
               for s in by_id.values()}
    forecast = Forecast(month=month)
    used: set[int] = set()
    for stage_id, currency, horizon, count, amount in rows:
        stage, line = by_id[stage_id], figures[stage_id]
        line.count += count
        line.amount[currency] = line.amount.get(currency, Decimal(0)) + amount
        line.weighted[currency] = line.weighted.get(currency, Decimal(0)) + _times(amount, _share(stage, history))
        if horizon in ("month", "undated"):
            forecast.deals += count
            forecast.undated += count if horizon == "undated" else 0
            forecast.amount[currency] = forecast.amount.get(currency, Decimal(0)) + _times(
                amount, _share(stage, history))
            used.add(stage_id)
    ordered = sorted(figures.values(), key=lambda f: (f.position, f.key))
    forecast.odds = [odds[s.id] for s in sorted(by_id.values(), key=lambda s: s.position) if s.id in used]
    listed = {s.key for s in by_id.values() if s.listed}
    return [f for f in ordered if f.count or f.key in listed], forecast

"""The team's history per stage, one provider for the forecast (exact) and the next-best-action ranking (daily).

    history(as_of)  per stage, the team's deals closed (won or lost) before `as_of` that passed through it,
                    as (won, closed) — the forecast's win rate from the stage once enough of them closed
                  = the deals closed before the first instant of `as_of`'s month: counted once, stored
                    (win_rate_snapshots) with a fingerprint of which deals they are (number and id sum per
                    status), recounted when the fingerprint no longer matches (a deal reopened, deleted,
                    imported or back-dated)
                  + the deals closed since (this month's few thousand), counted live.
                    A deal closes once, so the two parts add up to the one query over the whole history
                    (~310,000 stage changes on a year of a 200-person team: 0.3-0.9 s; the two parts ~0.1 s).
    of_day(now)     the first `history` of `now`'s local day, kept in memory per database: ranking next actions
                    for 200 salespeople reads it once, and this morning's win rates rank as well as this minute's.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Deal
from crm_core.models.reports import WinRateSnapshot
from crm_core.reports.figures import Figures
from crm_core.uow import is_busy_error

log = logging.getLogger(__name__)

# Per stage id: (won, closed).
History = dict[int, tuple[int, int]]
CLOSED = ("won", "lost")
# Database URL -> (local day, that day's first history); see WinRates.of_day.
_DAY_MEMO: dict[str, tuple[date, History]] = {}


def month_start(as_of: datetime) -> datetime:
    """Return the first instant of `as_of`'s month in `as_of`'s own time zone (the business one)."""
    return as_of.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_history(first: History, second: History) -> History:
    """Add two histories stage by stage (each deal is in exactly one of them)."""
    total = dict(first)
    for stage_id, (won, closed) in second.items():
        had_won, had_closed = total.get(stage_id, (0, 0))
        total[stage_id] = (had_won + won, had_closed + closed)
    return total


class WinRates:
    """The team's win-rate history over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._figures = Figures(session)

    async def history(self, as_of: datetime) -> History:
        """Return, per stage, the deals closed before `as_of` that passed through it: (won, closed), exactly."""
        boundary = month_start(as_of)
        before = await self._before(boundary)
        since = await self._figures.closed_through_stages(as_of, since=boundary)
        return add_history(before, since)

    async def of_day(self, now: datetime) -> History:
        """Return the history as of the day's first call (per database and `now`'s local day), for ranking."""
        key = str(getattr(self._session.bind, "url", ""))
        memo = _DAY_MEMO.get(key)
        if memo is None or memo[0] != now.date():
            memo = (now.date(), await self.history(now))
            _DAY_MEMO[key] = memo
        return memo[1]

    async def fingerprint(self, boundary: datetime) -> str:
        """Say which deals closed before `boundary`: their number and id sum per status (from an index)."""
        rows = await self._session.execute(
            select(Deal.status, func.count(), func.coalesce(func.sum(Deal.id), 0))
            .where(Deal.status.in_(CLOSED), Deal.closed_at < boundary).group_by(Deal.status))
        parts = {str(status): f"{int(count)}:{int(id_sum)}" for status, count, id_sum in rows}
        return ";".join(f"{status}={parts.get(status, '0:0')}" for status in CLOSED)

    async def _before(self, boundary: datetime) -> History:
        """The deals closed before `boundary`: stored counts while their fingerprint holds, else counted and stored."""
        fingerprint = await self.fingerprint(boundary)
        stored = await self._session.scalar(select(WinRateSnapshot).where(WinRateSnapshot.boundary == boundary))
        if stored is not None and stored.fingerprint == fingerprint:
            return {int(stage_id): (int(won), int(closed)) for stage_id, (won, closed) in stored.counts.items()}
        history = await self._figures.closed_through_stages(boundary)
        await self._store(stored, boundary, fingerprint, history)
        return history

    async def _store(self, stored: WinRateSnapshot | None, boundary: datetime, fingerprint: str,
                     history: History) -> None:
        counts = {str(stage_id): [won, closed] for stage_id, (won, closed) in history.items()}
        try:
            # A savepoint: a cache row another process wrote meanwhile must not undo the caller's unit of work.
            async with self._session.begin_nested():
                if stored is None:
                    self._session.add(WinRateSnapshot(boundary=boundary, fingerprint=fingerprint, counts=counts))
                else:
                    stored.fingerprint, stored.counts = fingerprint, counts
        except IntegrityError:
            log.info("win-rate history before %s stored by another process meanwhile", boundary.isoformat())
        except DBAPIError as error:
            if not is_busy_error(error):
                raise
            log.info("win-rate history before %s not stored: the store is busy", boundary.isoformat())

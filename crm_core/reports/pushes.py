"""Scheduled pushes: each person's times and mutes, and the claim that makes a push go out exactly once.

A push is (user, kind, period): the summary of 2026-11-23 for manager 3. The scheduler's tick looks at
today only (a bot down for a week sends today's summary once, not seven), and claims by inserting the
unique row in the transaction that also writes the push's outbox row: two ticks, a restart, or two
processes find the row there and send nothing more.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import PushPreference, ScheduledPush
from crm_core.reports.periods import parse_clock_time

# pg_try_advisory_xact_lock's first key: claims of scheduled pushes (any constant no other part of the CRM uses).
_PG_PUSH_CLAIMS = 0x70757368  # "push"

PushKind = Literal["summary", "digest"]


class PushPrefs(BaseModel):
    """One person's pushes: the time each goes out (local "HH:MM") and whether it is muted."""

    user_id: int
    summary_time: str
    summary_muted: bool
    digest_time: str
    digest_muted: bool
    summary_custom: bool = False  # the time is the person's own, not the team's default
    digest_custom: bool = False

    def time_of(self, kind: PushKind) -> time:
        """Return when `kind` goes out."""
        value = parse_clock_time(self.summary_time if kind == "summary" else self.digest_time)
        assert value is not None
        return value

    def muted(self, kind: PushKind) -> bool:
        """Tell whether `kind` is muted."""
        return self.summary_muted if kind == "summary" else self.digest_muted


class PushStore:
    """Preferences and claims over one session."""

    def __init__(self, session: AsyncSession, now: datetime, *, summary_time: str, digest_time: str) -> None:
        self._session = session
        self._now = now
        self._defaults = (summary_time, digest_time)

    async def prefs(self, user_ids: Collection[int]) -> dict[int, PushPrefs]:
        """Return the push settings of each user (the team's defaults where they chose nothing)."""
        rows = {} if not user_ids else {p.user_id: p for p in await self._session.scalars(
            select(PushPreference).where(PushPreference.user_id.in_(list(user_ids))))}
        return {user_id: self._out(user_id, rows.get(user_id)) for user_id in user_ids}

    def _out(self, user_id: int, row: PushPreference | None) -> PushPrefs:
        summary, digest = self._defaults
        if row is None:
            return PushPrefs(user_id=user_id, summary_time=summary, summary_muted=False, digest_time=digest,
                             digest_muted=False)
        return PushPrefs(user_id=user_id, summary_time=row.summary_time or summary, summary_muted=row.summary_muted,
                         digest_time=row.digest_time or digest, digest_muted=row.digest_muted,
                         summary_custom=row.summary_time is not None, digest_custom=row.digest_time is not None)

    async def change(self, user_id: int, kind: PushKind, *, at: str | None = None, muted: bool | None = None,
                     default_time: bool = False) -> PushPrefs:
        """Move `kind` to `at` (or back to the team's time with `default_time`), or mute/unmute it."""
        row = await self._session.scalar(select(PushPreference).where(PushPreference.user_id == user_id))
        if row is None:
            row = PushPreference(user_id=user_id, summary_muted=False, digest_muted=False, updated_at=self._now)
            self._session.add(row)
        if at is not None or default_time:
            setattr(row, f"{kind}_time", None if default_time else at)
        if muted is not None:
            setattr(row, f"{kind}_muted", muted)
        row.updated_at = self._now
        await self._session.flush()
        return self._out(user_id, row)

    async def claimed(self, kind: PushKind, period: str, user_ids: Collection[int]) -> set[int]:
        """Return which of `user_ids` already have `kind` for `period` (read first: most ticks claim nothing)."""
        if not user_ids:
            return set()
        rows = await self._session.scalars(select(ScheduledPush.user_id).where(
            ScheduledPush.kind == kind, ScheduledPush.period == period, ScheduledPush.user_id.in_(list(user_ids))))
        return set(rows)

    async def claim(self, user_id: int, kind: PushKind, period: str) -> bool:
        """Take the push for this process; False when another tick or process has it already."""
        values = {"user_id": user_id, "kind": kind, "period": period, "claimed_at": self._now}
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql" and not await self._nobody_else_claiming(user_id, kind, period):
            return False
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ScheduledPush).values(**values).on_conflict_do_nothing().returning(ScheduledPush.id)
        return (await self._session.execute(statement)).first() is not None

    async def _nobody_else_claiming(self, user_id: int, kind: PushKind, period: str) -> bool:
        """On PostgreSQL, take a lock on this push for the transaction, or tell that another transaction holds it.

        Without it, an INSERT of a key another open transaction inserted waits for that transaction, and a
        scheduler computing summaries holds its claims for as long as that takes: the other scheduler's
        claim would sit out the lock timeout and fail its whole tick. Now it skips the push at once.
        """
        got = await self._session.scalar(text("SELECT pg_try_advisory_xact_lock(:space, hashtext(:key))"),
                                         {"space": _PG_PUSH_CLAIMS, "key": f"{kind}:{period}:{user_id}"})
        return bool(got)

"""Working hours of the support team ("Mon-Sat 08:00-17:30"): open now, next opening, deadlines in working time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from crm_core.errors import InvalidInput

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC_RE = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkingHours:
    """The days (0 = Monday) and the daily window when people answer customers, in the business time zone."""

    days: frozenset[int]
    opens: time
    closes: time
    tz: tzinfo

    @classmethod
    def parse(cls, spec: str, tz: tzinfo) -> WorkingHours:
        """Read "Mon-Sat 08:00-17:30" (one day or a range of days, then a time window)."""
        match = _SPEC_RE.match(spec.lower())
        if match is None or match.group(1) not in _DAYS or (match.group(2) or match.group(1)) not in _DAYS:
            raise InvalidInput(f"working hours {spec!r} are not like 'Mon-Sat 08:00-17:30'")
        first, last = _DAYS.index(match.group(1)), _DAYS.index(match.group(2) or match.group(1))
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
        opens = time(int(match.group(3)), int(match.group(4)))
        closes = time(int(match.group(5)), int(match.group(6)))
        if closes <= opens:
            raise InvalidInput(f"working hours {spec!r} close before they open; write them like 'Mon-Sat 08:00-17:30'")
        return cls(days=days, opens=opens, closes=closes, tz=tz)

    def is_open(self, moment: datetime) -> bool:
        """Tell whether someone is at work at `moment`."""
        local = moment.astimezone(self.tz)
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        """Return `moment` when open, else when the team next starts work."""
        local = moment.astimezone(self.tz)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            start = datetime.combine(day, self.opens, tzinfo=self.tz)
            end = datetime.combine(day, self.closes, tzinfo=self.tz)
            if local < end:
                return max(start, local)
        raise InvalidInput("working hours have no open day")

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """Return the moment `minutes` of working time after `start` (a deadline that pauses overnight)."""
        left = timedelta(minutes=minutes)
        moment = self.next_opening(start)
        while True:
            end = datetime.combine(moment.date(), self.closes, tzinfo=self.tz)
            if moment + left <= end:
                return moment + left
            left -= end - moment
            moment = self.next_opening(end)

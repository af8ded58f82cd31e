"""Report periods: a day, an ISO week or a calendar month in the business time zone, and the one before it.

Every bound is local midnight turned into an aware instant, so an interaction belongs to the local date of
its `occurred_at` wherever the server runs; the database compares UTC instants against these bounds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Literal

from crm_core.textnorm import fold
from crm_core.understanding.dates import find_dates

PeriodKind = Literal["day", "week", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")
_DATA = Path(__file__).resolve().parent / "data" / "periods.json"
_YEAR_RE = re.compile(r"\d{4}")
# "tháng 11", "thang 11/2026", "month 11": a whole month by its number (folded text).
_MONTH_RE = re.compile(r"^(?:thang|month)\s*(\d{1,2})(?:\s*(?:/|-|nam)?\s*(\d{4}))?$")
# A day typed by its numbers ("20/11", "20-11", "20.11"), not by its weekday.
_DAY_MONTH_RE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}")
_CLOCK_RE = re.compile(r"^\s*([01]?\d|2[0-3])[:hg.](\d{2})\s*$")


@dataclass(frozen=True)
class Period:
    """Local days [first, last] and the instants [start, end) they span."""

    kind: PeriodKind
    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Return a stable name: `2026-11-23`, `2026-W48` or `2026-11`."""
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"

    def contains(self, moment: datetime) -> bool:
        """Tell whether `moment` falls within the period."""
        return self.start <= moment < self.end


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """Return the instant local `day` starts."""
    return datetime.combine(day, time(0), tzinfo=tz)


def period_of(kind: PeriodKind, day: date, tz: tzinfo) -> Period:
    """Return the day, the ISO week (Monday to Sunday) or the month that holds `day`."""
    if kind == "day":
        first, last = day, day
    elif kind == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
    else:
        first = day.replace(day=1)
        last = month_after(first) - timedelta(days=1)
    return Period(kind, first, last, local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz))


def previous(period: Period, tz: tzinfo) -> Period:
    """Return the period of the same kind just before `period` (the month before, not 30 days)."""
    return period_of(period.kind, period.first - timedelta(days=1), tz)


def compared_with(period: Period, today: date, tz: tzinfo) -> Period:
    """Return what `period` is compared with: the one before, cut to the same number of days when `period` is
    still running (Monday–Thursday with last Monday–Thursday, 1–3 December with 1–3 November), so a week or a
    month so far is never set against a whole one."""
    before = previous(period, tz)
    if period.kind == "day" or not period.first <= today < period.last:
        return before
    last = min(before.first + (today - period.first), before.last)
    return Period(before.kind, before.first, last, before.start, local_midnight(last + timedelta(days=1), tz))


def month_after(first: date) -> date:
    """Return the first day of the month after the one starting `first`."""
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


@cache
def _words() -> dict[str, tuple[str, ...]]:
    raw = json.loads(_DATA.read_text(encoding="utf-8"))
    return {key: tuple(" ".join(w.lower().split()) for w in words) for key, words in raw.items()
            if not key.startswith("_")}


@cache
def earliest_day() -> date:
    """The first day a summary can be asked for (older dates are typing slips)."""
    return date(int(json.loads(_DATA.read_text(encoding="utf-8"))["_earliest_year"]), 1, 1)


def askable(day: date, today: date) -> bool:
    """Tell whether a summary of `day` can be asked for: from earliest_day() up to today (a summary is of the past;
    a year 0001 or 9999 would not even fit the time arithmetic)."""
    return earliest_day() <= day <= today


def _period_word(text: str) -> str | None:
    """The period a text names as a whole: compared with accents, or folded when the text has none."""
    typed = " ".join(text.lower().split())
    for key, words in _words().items():
        if typed in words or (typed.isascii() and typed in {fold(w) for w in words}):
            return key
    return None


@dataclass(frozen=True)
class PeriodAsked:
    """What `/summary …` asked for: a kind of period and a day inside it."""

    kind: PeriodKind
    day: date


def read_period(text: str, today: date, language: str) -> PeriodAsked | None:
    """Read "hôm qua", "20/11", "2026-11-20", "tuần", "tháng trước"…; empty is today; None when unreadable,
    when anything but one date is typed, or for a day outside askable()."""
    if not text.strip():
        return PeriodAsked("day", today)
    word = _period_word(text)
    if word is not None:
        return {"day": PeriodAsked("day", today), "week": PeriodAsked("week", today),
                "month": PeriodAsked("month", today),
                "last_week": PeriodAsked("week", today - timedelta(days=7)),
                "last_month": PeriodAsked("month", today.replace(day=1) - timedelta(days=1))}[word]
    month = _MONTH_RE.match(fold(" ".join(text.split())))
    if month is not None:
        return _month_asked(int(month.group(1)), month.group(2), today)
    mentions = [m for m in find_dates(text, fold(text), today, language) if m.value is not None]
    # One date and nothing else: "tuần trước nữa" or a name next to a date is not guessed at.
    if len(mentions) != 1 or text[:mentions[0].start].strip() or text[mentions[0].end:].strip():
        return None
    value = mentions[0].value
    assert value is not None
    if value > today and mentions[0].tense_hint == "future":
        return None  # "mai": there is nothing to sum up yet
    # A weekday ("t6", "thứ Sáu", "chủ nhật") is the last one: read as coming, it is within the week ahead.
    if today < value <= today + timedelta(days=7) and not _DAY_MONTH_RE.search(text):
        value -= timedelta(days=7)
    # A summary is of the past: "20/11" typed on 23/11 is this year's, "25/12" typed in January last year's.
    if value > today and not _YEAR_RE.search(text):
        earlier = _same_day_last_year(value)
        value = earlier if earlier is not None and earlier <= today else value
    return PeriodAsked("day", value) if askable(value, today) else None


def _month_asked(month: int, year: str | None, today: date) -> PeriodAsked | None:
    """"tháng 11": that month, this year's unless it has not begun (then last year's); None for no such month."""
    if not 1 <= month <= 12:
        return None
    first = date(int(year) if year else today.year, month, 1)
    if first > today and not year:
        first = first.replace(year=first.year - 1)
    return PeriodAsked("month", first) if askable(first, today) else None


def _same_day_last_year(value: date) -> date | None:
    try:
        return value.replace(year=value.year - 1)
    except ValueError:  # 29/02
        return None


def parse_clock_time(text: str) -> time | None:
    """Read a time of day like "18:00", "7h30" or "08.15"; None when it is not one."""
    match = _CLOCK_RE.match(text)
    return time(int(match.group(1)), int(match.group(2))) if match and int(match.group(2)) < 60 else None

"""Working hours: open or not, when the team next starts, deadlines that pause overnight and on Sundays."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crm_core.errors import InvalidInput
from crm_core.hours import WorkingHours

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
HOURS = WorkingHours.parse("Mon-Sat 08:00-17:30", HCM)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 (23 is a Monday, 29 a Sunday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=HCM)


@pytest.mark.parametrize(("moment", "is_open"), [
    (at(23, 10), True), (at(23, 7, 59), False), (at(23, 17, 30), False), (at(28, 9), True), (at(29, 10), False)])
def test_open_means_a_working_day_inside_the_window(moment: datetime, is_open: bool) -> None:
    assert HOURS.is_open(moment) is is_open


def test_next_opening_skips_the_night_and_sunday() -> None:
    assert HOURS.next_opening(at(23, 10)) == at(23, 10)
    assert HOURS.next_opening(at(23, 21)) == at(24, 8)
    assert HOURS.next_opening(at(28, 18)) == at(30, 8)


def test_a_deadline_in_working_minutes_pauses_outside_hours() -> None:
    assert HOURS.add_working_minutes(at(23, 10), 30) == at(23, 10, 30)
    assert HOURS.add_working_minutes(at(23, 17, 15), 30) == at(24, 8, 15)
    assert HOURS.add_working_minutes(at(28, 20), 30) == at(30, 8, 30)


def test_a_single_day_and_a_range_that_wraps_the_week_are_read() -> None:
    assert WorkingHours.parse("sun 09:00-12:00", HCM).days == frozenset({6})
    assert WorkingHours.parse("Sat-Mon 09:00-12:00", HCM).days == frozenset({5, 6, 0})


@pytest.mark.parametrize("spec", ["always", "Mon-Fri 18:00-08:00", "Moo-Fri 08:00-17:00", ""])
def test_unreadable_hours_are_refused_with_an_example(spec: str) -> None:
    with pytest.raises(InvalidInput, match="Mon-Sat"):
        WorkingHours.parse(spec, HCM)

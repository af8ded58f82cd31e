"""What `/summary …` and `/audit …` read as a period: a summary is of the past, so a weekday is the last one, a
month by its number is this year's unless it has not begun, and tomorrow is nothing to sum up."""

from __future__ import annotations

from datetime import date

import pytest

from crm_core.reports.periods import PeriodAsked, read_period

THURSDAY = date(2026, 12, 3)


@pytest.mark.parametrize(("typed", "asked"), [
    ("t6", PeriodAsked("day", date(2026, 11, 27))),
    ("thứ Sáu", PeriodAsked("day", date(2026, 11, 27))),
    ("chủ nhật", PeriodAsked("day", date(2026, 11, 29))),
    ("thứ 5", PeriodAsked("day", THURSDAY)),
    ("thứ 4", PeriodAsked("day", date(2026, 12, 2))),
    ("20/11", PeriodAsked("day", date(2026, 11, 20))),
    ("25/12", PeriodAsked("day", date(2025, 12, 25))),
    ("tháng 11", PeriodAsked("month", date(2026, 11, 1))),
    ("Thang 12", PeriodAsked("month", date(2026, 12, 1))),
    ("tháng 1", PeriodAsked("month", date(2026, 1, 1))),
    ("tháng 11/2025", PeriodAsked("month", date(2025, 11, 1))),
    ("tuần", PeriodAsked("week", THURSDAY)),
])
def test_a_period_typed_is_read_as_the_past_one(typed: str, asked: PeriodAsked) -> None:
    assert read_period(typed, THURSDAY, "vi") == asked


@pytest.mark.parametrize("typed", ["mai", "ngày mai", "tháng 13", "tháng 0"])
def test_what_is_not_a_past_period_is_not_read(typed: str) -> None:
    assert read_period(typed, THURSDAY, "vi") is None

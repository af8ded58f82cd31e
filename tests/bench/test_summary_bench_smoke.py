"""The summary benchmark runs end to end on the tiny generated book, and its figures add up.

It checks the report, not the speed: a target missed shows as `ok: false`, never as a failure here. With
CHATCRM_TEST_POSTGRES_URL set, the same book is loaded into PostgreSQL (a database of its own) and timed too.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from bot.cli import load_benchmark

PERIODS = ("day", "month", "day_again", "month_again")


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One tiny run: 6 salespeople, 600 deals, 6,000 interactions (seconds, cached after the first)."""
    result: dict[str, Any] = load_benchmark("summary").run("tiny")
    return result


def test_the_book_has_its_rows_on_every_backend(figures: dict[str, Any]) -> None:
    rows = figures["rows"]

    assert rows["users"] == 8  # 6 salespeople, a manager, an admin
    assert (rows["companies"], rows["contacts"], rows["deals"], rows["interactions"]) == (300, 600, 600, 6000)
    assert rows["deal_stage_changes"] > rows["deals"]  # created, then moved
    assert rows["tasks"] > rows["deals"]
    assert rows["customer_questions"] > 0
    if os.environ.get("CHATCRM_TEST_POSTGRES_URL"):
        assert figures["postgres"]["rows_match"] is True


def test_each_summary_is_timed_with_its_queries_and_counts_real_figures(figures: dict[str, Any]) -> None:
    backends = ["sqlite"] + (["postgres"] if os.environ.get("CHATCRM_TEST_POSTGRES_URL") else [])
    for backend in backends:
        measured = figures[backend]
        assert "error" not in measured, measured
        for period in PERIODS:
            run = measured[period]
            assert run["seconds"] > 0
            assert {"activity", "deals", "open_deals", "tasks", "faq"} <= set(run["queries"])
            assert run["interactions"] > 0
            assert run["open_deals"] > 0
        assert measured["month"]["interactions"] > measured["day"]["interactions"]
        assert measured["day"] == measured["day"] | {k: measured["day_again"][k] for k in ("interactions", "won")}
        assert 0 < measured["peak_rss_mb"] < 2000


def test_the_report_says_whether_the_targets_were_met(figures: dict[str, Any]) -> None:
    assert {"sqlite.day", "sqlite.month", "sqlite.peak_rss_mb"} <= set(figures["targets"])
    assert figures["ok"] == all(figures["targets"].values())
    assert {"sqlite.day", "sqlite.month"} <= set(figures["cpu_targets"])
    assert figures["cpu_ok"] == all(figures["cpu_targets"].values())

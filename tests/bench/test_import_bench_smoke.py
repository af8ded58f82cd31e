"""The import benchmark runs end to end at a small scale, and its figures add up.

It checks the report, not the speed: a target missed shows as `ok: false`, never as a failure here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli import load_benchmark


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    """One small run: 1,003 rows imported twice (a few seconds)."""
    result: dict[str, Any] = load_benchmark("import").run("small")
    return result


def test_the_first_run_creates_every_row_and_the_second_creates_nothing(figures: dict[str, Any]) -> None:
    first, second = figures["first"], figures["second"]

    assert "error" not in first, first
    assert "error" not in second, second
    assert first["rows"] == second["rows"] == figures["rows"] == 1003
    assert first["created"] == {"users": 3, "companies": 100, "contacts": 200, "deals": 200, "interactions": 500}
    assert first["errors"] == second["errors"] == 0
    assert second["created"] == {}
    assert second["skipped"] == first["created"]


def test_the_report_gives_time_rate_and_memory_and_says_whether_the_targets_were_met(
        figures: dict[str, Any]) -> None:
    for run in (figures["first"], figures["second"]):
        assert run["seconds"] > 0
        assert run["rows_per_s"] > 0
        assert 0 < run["peak_rss_mb"] < 2000
    assert set(figures["targets"]) == {"first.seconds", "first.peak_rss_mb", "second.creates_nothing"}
    assert figures["ok"] == all(figures["targets"].values())

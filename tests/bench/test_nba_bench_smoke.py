"""The next-best-action benchmark runs end to end on the tiny generated book and reports its figures."""

from __future__ import annotations

from bot.cli import load_benchmark


def test_the_nba_benchmark_reports_one_and_all_salespeople_on_the_tiny_book() -> None:
    figures = load_benchmark("nba").run("tiny")
    sqlite = figures["sqlite"]
    assert sqlite["all"]["salespeople"] == 6
    assert sqlite["one_ms"]["p95"] > 0
    assert sqlite["tiers"]["customers"] > 0

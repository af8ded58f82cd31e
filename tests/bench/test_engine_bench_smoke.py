"""The engine benchmark runs end to end on a tiny home and reports every kind of update it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
from bot.cli import load_benchmark

KINDS = {"log_vi", "log_en", "log_save", "deals", "deals_page", "deal_open", "customer", "tasks",
         "customer_question"}
KEYS = {"kinds", "updates_per_s", "bare_aiogram_updates_per_s", "ratio", "n", "contacts", "interactions",
        "backend", "errors"}


def test_engine_bench_reports_every_kind_on_a_tiny_home(tmp_path: Path) -> None:
    bench = load_benchmark("engine")

    # One round of twelve updates (every kind at least once) over the demo plus a few scaled rows.
    figures = bench.run(12, contacts=200, interactions=1_000, cache_dir=tmp_path)

    assert figures.keys() >= KEYS
    assert set(figures["kinds"]) == KINDS
    for kind, latency in figures["kinds"].items():
        assert latency["n"] > 0, kind
        assert 0 < latency["p50_ms"] <= latency["p95_ms"], kind
    assert sum(latency["n"] for latency in figures["kinds"].values()) == figures["n"] == 12
    assert figures["errors"] == 0
    assert (figures["contacts"], figures["interactions"], figures["backend"]) == (200, 1_000, "sqlite")
    assert figures["updates_per_s"] > 0
    assert figures["bare_aiogram_updates_per_s"] > 0
    assert figures["ratio"] == pytest.approx(figures["updates_per_s"] / figures["bare_aiogram_updates_per_s"], rel=0.01)
    assert figures["code"] == str(Path(bot.__file__).resolve().parent)  # the child measured this tree


def test_several_runs_report_the_median_of_each_figure() -> None:
    bench = load_benchmark("engine")
    runs = [{"kinds": {"tasks": {"n": 5, "p95_ms": p95}}, "updates_per_s": per_s, "backend": "sqlite"}
            for p95, per_s in ((30.0, 20.0), (10.0, 25.0), (20.0, 15.0))]

    merged = bench.median_figures(runs)

    assert merged == {"kinds": {"tasks": {"n": 5, "p95_ms": 20.0}}, "updates_per_s": 20.0, "backend": "sqlite"}

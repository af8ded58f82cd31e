"""`chatcrm bench` finds and imports every benchmark module (import only: the runs take minutes)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app, benchmark_names, load_benchmark


def test_every_shipped_benchmark_is_listed() -> None:
    assert {"engine", "faq", "parse"} <= set(benchmark_names())


@pytest.mark.parametrize("name", benchmark_names())
def test_chatcrm_bench_imports_the_benchmark_module(name: str) -> None:
    # The faq module holds dataclasses: loaded by path without a sys.modules entry, it crashed on import.
    module = load_benchmark(name)

    assert callable(module.run)


def test_an_unknown_benchmark_is_one_line_and_exit_1() -> None:
    result = CliRunner().invoke(app, ["bench", "nope", "--json"])

    assert result.exit_code == 1
    assert "no benchmark 'nope'; available:" in result.output
    assert {"engine", "faq", "parse"} <= set(result.output.split("available:")[1].strip().split(", "))

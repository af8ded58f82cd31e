"""`chatcrm next`: the contract's keys for one salesperson, the acceptance figures, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

NOW = "2026-11-23T09:00:00+07:00"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["users", "add", "--name", "Lan", "--role", "sales"]).exit_code == 0
    return tmp_path


def test_next_json_on_an_empty_book_is_an_empty_list(home: Path) -> None:
    result = CliRunner().invoke(app, ["next", "--user", "Lan", "--now", NOW, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # an empty book: nothing to do, still one JSON document


def test_next_stats_lists_every_rule(home: Path) -> None:
    result = CliRunner().invoke(app, ["next", "--stats", "--json", "--now", NOW])
    figures = json.loads(result.stdout)
    assert {r["rule"] for r in figures["rules"]} >= {"quote_no_followup", "task_overdue", "care_first"}
    assert figures["mostly_snoozed"] == []


def test_an_unknown_salesperson_is_one_clear_line(home: Path) -> None:
    result = CliRunner().invoke(app, ["next", "--user", "Nobody", "--json"])
    assert result.exit_code == 1
    assert "Nobody" in result.output

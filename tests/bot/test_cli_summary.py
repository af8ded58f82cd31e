"""`chatcrm summary`: the interfaces.md JSON, the period options, the chart file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import OpenServices
from tests.core.test_reports import seed_book

INTERFACE_KEYS = {"date", "interactions", "leads_new", "deals", "pipeline", "forecast", "tasks", "faq"}


@pytest.fixture
def chatcrm(migrated_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `chatcrm ARGS…` over the test database; return (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        env = {"CHATCRM_HOME": str(tmp_path), "CHATCRM_DATABASE_URL": migrated_url}
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


async def test_summary_json_keeps_every_documented_key_with_the_books_figures(
        chatcrm, open_services: OpenServices, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        await seed_book(services)
    chart = tmp_path / "chart.png"

    # The command runs its own event loop: off this test's loop, in a thread.
    code, out, _ = await asyncio.to_thread(chatcrm, "summary", "--date", "2026-11-23", "--json", "--chart", str(chart),
                           "--now", "2026-11-23T10:00:00+07:00")

    assert code == 0, _
    figures = json.loads(out)
    assert set(figures) >= INTERFACE_KEYS
    assert figures["interactions"]["by_rep"] == {"Lan": 3, "Tuấn": 1}
    assert figures["deals"]["won"] == {"count": 1, "amount": {"VND": 480_000_000}}
    assert set(figures["forecast"]["amount"]) == {"VND", "USD"}
    assert set(figures["faq"]) >= {"questions", "answered", "handoffs", "csat"}
    with Image.open(chart) as image:
        assert image.format == "PNG"


def test_an_unknown_period_is_one_line_and_exit_1(chatcrm) -> None:  # type: ignore[no-untyped-def]
    code, _, err = chatcrm("summary", "--period", "year")

    assert code == 1
    assert err.strip() == "error: --period must be one of day, week, month"

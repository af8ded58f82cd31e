"""`chatcrm summary` over a book brought in by `chatcrm import`: a past day's figures are the workbook's figures.

tests/fixtures/reports/imported_book.xlsx is the issue 13/14 review's book: four staff, ten companies, ten deals
(open, won and lost, one in USD), interactions and tasks around 20/11/2026.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from typer.testing import CliRunner

from bot.cli import app
from crm_core.models import Deal, DealStageChange, Stage
from crm_core.uow import UnitOfWork

BOOK = Path(__file__).parents[1] / "fixtures" / "reports" / "imported_book.xlsx"


@pytest.fixture
def chatcrm(migrated_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `chatcrm ARGS…` over the test database; return (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        env = {"CHATCRM_HOME": str(tmp_path), "CHATCRM_DATABASE_URL": migrated_url}
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


async def _summary(chatcrm: Any, *args: str) -> dict[str, Any]:
    code, _, err = await asyncio.to_thread(chatcrm, "import", str(BOOK))
    assert code == 0, err
    code, out, err = await asyncio.to_thread(chatcrm, "summary", "--json", *args)
    assert code == 0, err
    return dict(json.loads(out))


async def test_a_past_days_pipeline_keeps_the_deals_closed_after_it_in_the_stage_the_sheet_names(
        chatcrm: Any) -> None:
    figures = await _summary(chatcrm, "--date", "2026-11-20", "--now", "2026-11-30T12:00:00+07:00")

    by_stage = {line["stage"]: line for line in figures["pipeline"]}
    # Zeta (open, 1 tỷ) and Delta (won at 00:15 on 21/11, 700 triệu): both in negotiation at the end of 20/11.
    assert by_stage["negotiation"]["count"] == 2
    assert by_stage["negotiation"]["amount"] == {"VND": 1_700_000_000}
    # Alpha (quote since 15/11) and Kappa (quote from 25/11, recorded in no stage before: its earliest open one).
    assert by_stage["quote"]["count"] == 2
    # Beta (won 20/11 10:00) and Gamma (lost 20/11 23:30) had closed by then; Theta was created on 21/11.
    assert sum(line["count"] for line in figures["pipeline"]) == 6


async def _history(sessionmaker: async_sessionmaker[AsyncSession], title: str) -> list[tuple[str | None, str]]:
    before, after = aliased(Stage), aliased(Stage)
    async with UnitOfWork(sessionmaker) as uow:
        rows = await uow.session.execute(
            select(before.key, after.key).select_from(DealStageChange)
            .join(Deal, Deal.id == DealStageChange.deal_id).join(after, after.id == DealStageChange.to_stage_id)
            .outerjoin(before, before.id == DealStageChange.from_stage_id)
            .where(Deal.title == title).order_by(DealStageChange.changed_at, DealStageChange.id))
        return [(b, a) for b, a in rows]


async def test_an_imported_closed_deal_keeps_the_stage_its_row_names_before_its_close(
        chatcrm: Any, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await asyncio.to_thread(chatcrm, "import", str(BOOK))

    assert await _history(sessionmaker, "Delta — ghế") == [(None, "negotiation"), ("negotiation", "won")]
    assert await _history(sessionmaker, "Gamma — tủ") == [(None, "quote"), ("quote", "lost")]
    assert await _history(sessionmaker, "Kappa — 40 bộ") == [(None, "quote")]


async def test_a_deal_closed_later_with_no_open_stage_recorded_counts_in_its_pipelines_first_stage(
        chatcrm: Any, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await asyncio.to_thread(chatcrm, "import", str(BOOK))
    async with UnitOfWork(sessionmaker) as uow:  # as an older import left it: only the close is recorded
        delta = await uow.session.scalar(select(Deal.id).where(Deal.title == "Delta — ghế"))
        await uow.session.execute(delete(DealStageChange).where(DealStageChange.deal_id == delta,
                                                                DealStageChange.from_stage_id.is_(None)))

    figures = await _summary(chatcrm, "--date", "2026-11-20", "--now", "2026-11-30T12:00:00+07:00")

    by_stage = {line["stage"]: line for line in figures["pipeline"]}
    assert by_stage["new"]["amount"] == {"VND": 50_000_000 + 700_000_000}
    assert sum(line["count"] for line in figures["pipeline"]) == 6


async def test_the_json_highlights_carry_the_paragraph_the_text_shows_and_who_wrote_it(chatcrm: Any) -> None:
    figures = await _summary(chatcrm, "--date", "2026-11-20", "--now", "2026-11-30T12:00:00+07:00")

    assert figures["highlights"]["source"] == "rules"
    assert figures["highlights"]["text"]
    _, text, _ = await asyncio.to_thread(chatcrm, "summary", "--date", "2026-11-20",
                                         "--now", "2026-11-30T12:00:00+07:00")
    assert figures["highlights"]["text"] in text

"""An export read back keeps every deal's moves between stages (the stage_history sheet): the demo business,
exported with `chatcrm export` and imported with `chatcrm import` into an empty home, has the same stage changes
(count and each deal's sequence) and the same past day's summary; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased
from typer.testing import CliRunner

from bot.cli import app
from crm_core.db import create_engine, create_sessionmaker
from crm_core.demo import seed_demo
from crm_core.models import Company, Deal, DealStageChange, Stage, User
from crm_core.uow import UnitOfWork
from tests.conftest import TEST_NOW

Moves = dict[tuple[str, str | None], list[tuple[str | None, str, int, str | None]]]
NOW = "2026-11-23T10:00:00+07:00"


def _cli(home: Path, url: str, *args: str, language: str = "vi") -> str:
    env = {"CHATCRM_HOME": str(home), "CHATCRM_DATABASE_URL": url, "CHATCRM_LANGUAGE": language}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


async def _moves(url: str) -> Moves:
    """Each deal's stage changes in order: (from stage, to stage, time to the second, by)."""
    engine = create_engine(url)
    before, after = aliased(Stage), aliased(Stage)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(Deal.title, Company.name, before.key, after.key, DealStageChange.changed_at, User.name)
                .select_from(DealStageChange).join(Deal, DealStageChange.deal_id == Deal.id)
                .outerjoin(Company, Deal.company_id == Company.id)
                .outerjoin(before, DealStageChange.from_stage_id == before.id)
                .join(after, DealStageChange.to_stage_id == after.id)
                .outerjoin(User, DealStageChange.user_id == User.id)
                .order_by(DealStageChange.changed_at, DealStageChange.id))
            moves: Moves = {}
            for title, company, from_key, to_key, at, by in rows:
                moves.setdefault((title, company), []).append((from_key, to_key, int(at.timestamp()), by))
            return moves
    finally:
        await engine.dispose()


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_the_demo_business_exported_and_imported_keeps_every_stage_change_and_its_summary(
        migrated_url: str, db_url: str, tmp_path: Path, language: str) -> None:
    engine = create_engine(migrated_url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            seeded = await seed_demo(uow.session, now=TEST_NOW)
    finally:
        await engine.dispose()
    book = tmp_path / "export.xlsx"
    await asyncio.to_thread(_cli, tmp_path / "demo", migrated_url, "export", str(book), "--lang", language)

    imported: dict[str, Any] = json.loads(await asyncio.to_thread(
        _cli, tmp_path / "empty", db_url, "import", str(book), "--json"))

    original, read_back = await _moves(migrated_url), await _moves(db_url)
    assert sum(len(m) for m in original.values()) == seeded.stage_changes
    assert max(len(m) for m in original.values()) >= 3  # several moves per deal
    assert imported["errors"] == []
    assert imported["created"]["stage_history"] == seeded.stage_changes
    assert sum(len(m) for m in read_back.values()) == seeded.stage_changes
    assert read_back == original
    for day in ("2026-11-02", "2026-11-16", "2026-11-20"):
        args = ("summary", "--json", "--date", day, "--now", NOW)
        assert json.loads(await asyncio.to_thread(_cli, tmp_path / "empty", db_url, *args)) == json.loads(
            await asyncio.to_thread(_cli, tmp_path / "demo", migrated_url, *args))


async def test_importing_the_export_again_doubles_no_stage_change(
        migrated_url: str, db_url: str, tmp_path: Path) -> None:
    engine = create_engine(migrated_url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            seeded = await seed_demo(uow.session, now=TEST_NOW)
    finally:
        await engine.dispose()
    book = tmp_path / "export.xlsx"
    await asyncio.to_thread(_cli, tmp_path / "demo", migrated_url, "export", str(book))

    again: dict[str, Any] = json.loads(await asyncio.to_thread(
        _cli, tmp_path / "demo", migrated_url, "import", str(book), "--json"))

    assert again["created"] == {}
    assert again["skipped"]["stage_history"] == seeded.stage_changes
    assert sum(len(m) for m in (await _moves(migrated_url)).values()) == seeded.stage_changes

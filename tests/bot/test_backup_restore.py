"""`chatcrm backup DIR` while writes go on, `chatcrm restore DIR` into an empty home, checksums refused when they
differ; `chatcrm audit --json`; on SQLite (online backup API) and PostgreSQL (pg_dump / pg_restore)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.backup import MANIFEST, backup
from bot.cli import app
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models import Company, Contact
from crm_core.textnorm import fold
from tests.conftest import OpenServices

WRITES = 40


def _chatcrm(home: Path, url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"CHATCRM_HOME": str(home), "CHATCRM_DATABASE_URL": url})
    crashed = f"{result.exception!r}" if result.exception and not isinstance(result.exception, SystemExit) else ""
    return result.exit_code, result.stdout, result.stderr + crashed


async def _write_pairs(open_services: OpenServices, clock: FrozenClock, start: int, count: int) -> None:
    """Each write adds a company and its contact in one unit of work (a copy holds both or neither)."""
    for n in range(start, start + count):
        async with open_services() as services:
            company = Company(name=f"Công ty {n}", name_folded=fold(f"Công ty {n}"), created_at=clock.now())
            services.session.add(company)
            await services.session.flush()
            services.session.add(Contact(name=f"Khách {n}", name_folded=fold(f"Khách {n}"), company_id=company.id,
                                         created_at=clock.now()))
        await asyncio.sleep(0)


async def _counts_and_rows(url: str) -> tuple[int, int, list[str]]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            companies = int(await session.scalar(select(func.count(Company.id))) or 0)
            contacts = int(await session.scalar(select(func.count(Contact.id))) or 0)
            names = list(await session.scalars(select(Company.name).order_by(Company.id).limit(3)))
            return companies, contacts, names
    finally:
        await engine.dispose()


async def test_a_backup_taken_while_writes_go_on_restores_into_an_empty_home_whole(
        migrated_url: str, db_url: str, open_services: OpenServices, clock: FrozenClock, tmp_path: Path,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    home, target = tmp_path / "home", tmp_path / "backup"
    (home / "index").mkdir(parents=True)
    with closing(sqlite3.connect(home / "index" / "cache.sqlite3")) as chroma:  # a live SQLite file, as Chroma keeps
        chroma.execute("CREATE TABLE t (x)")
        chroma.execute("INSERT INTO t VALUES (42)")
        chroma.commit()
    (home / "uploads.txt").write_text("kept as is")
    await _write_pairs(open_services, clock, 0, 5)
    config = Settings(home=home, database_url=migrated_url)

    writing = asyncio.create_task(_write_pairs(open_services, clock, 5, WRITES))
    manifest = await asyncio.to_thread(backup, config, target)
    await writing

    assert {e["path"] for e in manifest["files"]} >= {"home/index/cache.sqlite3", "home/uploads.txt"}
    restored_home = tmp_path / "restored"
    code, _out, err = await asyncio.to_thread(_chatcrm, restored_home, db_url, "restore", str(target))
    assert code == 0, err
    companies, contacts, names = await _counts_and_rows(db_url)
    assert companies == contacts  # no unit of work half copied
    assert 5 <= companies <= 5 + WRITES
    assert names == ["Công ty 0", "Công ty 1", "Công ty 2"]
    with closing(sqlite3.connect(restored_home / "index" / "cache.sqlite3")) as chroma:
        assert chroma.execute("SELECT x FROM t").fetchall() == [(42,)]
    assert (restored_home / "uploads.txt").read_text() == "kept as is"
    code, out, _err = await asyncio.to_thread(_chatcrm, restored_home, db_url, "stats", "--json")
    assert json.loads(out)["companies"] == companies


async def test_a_backup_whose_file_changed_is_refused_naming_the_file_and_nothing_is_restored(
        migrated_url: str, db_url: str, tmp_path: Path) -> None:
    home, target = tmp_path / "home", tmp_path / "backup"
    home.mkdir()
    (home / "notes.txt").write_text("original")
    await asyncio.to_thread(backup, Settings(home=home, database_url=migrated_url), target)
    (target / "home" / "notes.txt").write_text("tampered")

    restored_home = tmp_path / "restored"
    code, out, err = await asyncio.to_thread(_chatcrm, restored_home, db_url, "restore", str(target))

    assert code == 1
    assert out == ""
    assert "home/notes.txt" in err
    assert MANIFEST in err
    assert not restored_home.exists()


def test_restore_refuses_a_home_that_is_not_empty(tmp_path: Path, migrated_url: str) -> None:
    home, target = tmp_path / "home", tmp_path / "backup"
    home.mkdir()
    backup(Settings(home=home, database_url=migrated_url), target)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    code, _out, err = _chatcrm(busy, migrated_url, "restore", str(target))
    assert code == 1
    assert "not empty" in err


def test_chatcrm_audit_json_lists_who_did_what_with_before_and_after(migrated_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _chatcrm(home, migrated_url, "users", "add", "--name", "Thảo", "--role", "admin")[0] == 0
    assert _chatcrm(home, migrated_url, "users", "add", "--name", "Lan", "--role", "sales")[0] == 0
    assert _chatcrm(home, migrated_url, "pipelines", "add-template", "education")[0] == 0

    code, out, _err = _chatcrm(home, migrated_url, "audit", "--json")

    assert code == 0
    entries = json.loads(out)
    assert {"id", "at", "actor", "channel", "action", "entity", "entity_id", "before", "after"} <= set(entries[0])
    added = [e for e in entries if e["action"] == "pipeline.add"]
    assert [(e["actor"], e["channel"], e["details"]["template"]) for e in added] == [("cli", "cli", "education")]
    stages = [e for e in entries if e["action"] == "record.create" and e["entity"] == "stage"
              and e["after"]["name_en"] == "Counselling"]
    assert stages
    assert stages[0]["before"] is None
    code, out, _err = _chatcrm(home, migrated_url, "audit", "--json", "--since", "2999-01-01")
    assert json.loads(out) == []
    code, _out, err = _chatcrm(home, migrated_url, "audit", "--user", "Nobody")
    assert code == 1
    assert err.count("\n") == 1


@pytest.mark.parametrize("template", ["manufacturing", "recruitment", "shipping", "real_estate", "education"])
def test_every_industry_template_ships_names_in_both_languages_and_closes_with_won_and_lost(template: str) -> None:
    from crm_core.pipelines.templates import TEMPLATES

    stages = TEMPLATES[template].stages
    assert [s.key for s in stages[-2:]] == ["won", "lost"]
    assert all(s.name_vi and s.name_en and 0 <= s.probability <= 100 for s in stages)
    assert len({s.key for s in stages}) == len(stages)


def _list_in_manifest(backup_dir: Path, listed: str, actual: Path) -> None:
    """Add `listed` to the backup's manifest with the true size and checksum of `actual` (a forged entry)."""
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    manifest["files"].append({"path": listed, "bytes": actual.stat().st_size,
                              "sha256": hashlib.sha256(actual.read_bytes()).hexdigest()})
    (backup_dir / MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("escape", ["dotdot", "absolute", "symlinked_folder", "symlinked_file"])
def test_a_manifest_path_leading_out_of_the_backup_or_the_home_refuses_the_whole_restore(
        migrated_url: str, db_url: str, tmp_path: Path, escape: str) -> None:
    home, target, outside = tmp_path / "home", tmp_path / "backup", tmp_path / "x"
    home.mkdir()
    (home / "notes.txt").write_text("original")
    backup(Settings(home=home, database_url=migrated_url), target)
    outside.mkdir()
    evil = outside / "evil.sh"
    evil.write_text("#!/bin/sh\necho owned\n")
    restored_home = tmp_path / "deep" / "restored"
    if escape == "dotdot":  # backup/home/../../x/evil.sh is tmp_path/x/evil.sh; restored, deep/x/evil.sh
        _list_in_manifest(target, "home/../../x/evil.sh", evil)
    elif escape == "absolute":
        _list_in_manifest(target, str(evil), evil)
    elif escape == "symlinked_folder":
        (target / "home" / "link").symlink_to(outside, target_is_directory=True)
        _list_in_manifest(target, "home/link/evil.sh", evil)
    else:
        (target / "home" / "evil.sh").symlink_to(evil)
        _list_in_manifest(target, "home/evil.sh", evil)

    code, out, err = _chatcrm(restored_home, db_url, "restore", str(target))

    assert code == 1, out
    assert "nothing was restored" in err
    assert not restored_home.exists()
    assert not (tmp_path / "deep" / "x").exists()
    assert sorted(p.name for p in tmp_path.rglob("evil.sh") if not p.is_symlink()) == ["evil.sh"]


def test_caches_and_pickles_are_neither_backed_up_nor_restored(
        migrated_url: str, db_url: str, tmp_path: Path) -> None:
    home, target = tmp_path / "home", tmp_path / "backup"
    (home / "cache").mkdir(parents=True)
    (home / "cache" / "corpus-abc.pickle").write_bytes(b"derived")
    (home / "cache" / "tables.bin").write_bytes(b"derived too")
    (home / "uploads").mkdir()
    (home / "uploads" / "old.pkl").write_bytes(b"a pickle by another name")
    (home / "uploads" / "price list.txt").write_text("kept")

    manifest = backup(Settings(home=home, database_url=migrated_url), target)

    assert {e["path"] for e in manifest["files"] if e["path"].startswith("home/")} == {"home/uploads/price list.txt"}
    # A backup made before caches were left out, or one someone slipped a pickle into, with true checksums:
    planted = target / "home" / "cache" / "corpus-abc.pickle"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"cos\nsystem\n(S'echo owned'\ntR.")
    _list_in_manifest(target, "home/cache/corpus-abc.pickle", planted)
    restored_home = tmp_path / "restored"
    code, _out, err = _chatcrm(restored_home, db_url, "restore", str(target))
    assert code == 0, err
    assert (restored_home / "uploads" / "price list.txt").read_text() == "kept"
    assert not (restored_home / "cache").exists()

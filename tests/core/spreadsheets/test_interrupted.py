"""An import killed at any point (kill -9) and simply run again ends where one uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import openpyxl

from bot.cli import load_benchmark

ROOT = Path(__file__).resolve().parents[3]
# 8 batches of the importer's 2,000 rows: killed after the first few, some sheets are half in.
SCALE = load_benchmark("import").Scale(5, 2000, 4000, 4000, 6000)


def _chatcrm(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHATCRM_HOME": str(home)}
    env.pop("CHATCRM_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _count(home: Path, table: str) -> int:
    path = home / "chatcrm.sqlite3"
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(path, timeout=5)) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def _finish(process: subprocess.Popen[bytes]) -> None:
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}


def test_an_import_killed_half_way_and_run_again_ends_like_one_run(tmp_path: Path) -> None:
    workbook = tmp_path / "book.xlsx"
    load_benchmark("import").write_workbook(workbook, SCALE)
    killed, whole = tmp_path / "killed", tmp_path / "whole"

    process = _chatcrm(killed, "import", str(workbook), "--json")
    deadline = time.monotonic() + 240
    while _count(killed, "contacts") == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # a safety net: the kill waits for the first contacts' batch, not for a time
    assert process.poll() is None, "the import ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    half = {t: _count(killed, t) for t in ("companies", "contacts", "deals", "interactions")}
    assert 0 < half["contacts"] < SCALE.contacts

    _finish(_chatcrm(killed, "import", str(workbook), "--json"))
    _finish(_chatcrm(whole, "import", str(workbook), "--json"))

    for table in ("users", "companies", "contacts", "deals", "deal_stage_changes", "interactions"):
        assert _count(killed, table) == _count(whole, table), table
    _finish(_chatcrm(killed, "export", str(tmp_path / "killed.xlsx")))
    _finish(_chatcrm(whole, "export", str(tmp_path / "whole.xlsx")))
    assert _cells(tmp_path / "killed.xlsx") == _cells(tmp_path / "whole.xlsx")

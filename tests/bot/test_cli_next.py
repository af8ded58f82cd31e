"""`chatcrm next`: the contract's keys for one salesperson, the acceptance figures, clear refusals."""

from __future__ import annotations

import json
from datetime import date
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


# --- a small seeded book, imported the way the acceptance checks import theirs --------------------------------

CONTRACT_KEYS = {"action", "reason", "rule", "score", "deal", "contact", "company", "due"}
SHEETS: dict[str, list[list[object]]] = {
    "users": [["name", "role"], ["Lan", "sales"], ["Tuấn", "sales"]],
    "companies": [["name"], ["Hòa Phát"], ["Vinamilk"], ["Masan"], ["Đông Hải"], ["Thành Công"]],
    "contacts": [["name", "company", "owner"], ["Minh", "Hòa Phát", "Lan"], ["Hoa", "Vinamilk", "Lan"],
                 ["Bình", "Masan", "Lan"], ["Dũng", "Đông Hải", "Lan"], ["Phong", "Thành Công", "Tuấn"]],
    "deals": [["title", "company", "contact", "owner", "stage", "amount", "currency", "expected_close", "status",
               "created_at", "stage_changed_at"],
              ["Hòa Phát — 200 bộ", "Hòa Phát", "Minh", "Lan", "quote", 2_000_000_000, "VND", "2026-12-15", "open",
               "2026-10-20 09:00", "2026-11-09 10:00"],
              ["Masan — dây chuyền", "Masan", "Bình", "Lan", "negotiation", 500_000_000, "VND", "2026-11-20", "open",
               "2026-10-01 09:00", "2026-11-16 10:00"],
              ["Đông Hải — 50 bộ", "Đông Hải", "Dũng", "Lan", "lost", 4_000_000_000, "VND", "2026-11-10", "lost",
               "2026-09-01 09:00", "2026-11-01 10:00"],
              ["Thành Công — 300 bộ", "Thành Công", "Phong", "Tuấn", "quote", 3_000_000_000, "VND", "2026-11-21",
               "open", "2026-10-01 09:00", "2026-11-02 10:00"]],
    "interactions": [["occurred_at", "kind", "contact", "company", "deal", "owner", "summary"],
                     ["2026-11-09 10:00", "email", "Minh", "Hòa Phát", "Hòa Phát — 200 bộ", "Lan", "gửi báo giá"],
                     ["2026-11-16 10:00", "meeting", "Bình", "Masan", "Masan — dây chuyền", "Lan", "đàm phán giá"]],
    "tasks": [["title", "due", "owner", "contact", "done"],
              ["Gửi hợp đồng cho Vinamilk", "2026-11-20 09:00", "Lan", "Hoa", "no"],
              ["Gọi anh Phong", "2026-11-19 09:00", "Tuấn", "Phong", "no"]],
}
NOT_LANS = ("Thành Công", "Phong", "Tuấn", "Đông Hải", "Dũng")


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lan's open quote, late close and overdue contract task; her lost deal; Tuấn's bigger deal and task."""
    from openpyxl import Workbook

    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in SHEETS.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    imported = CliRunner().invoke(app, ["import", str(path), "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["errors"] == []
    return path


def test_next_json_on_a_seeded_book_gives_the_contract_keys_with_reasons_and_only_lans_open_deals(
        book: Path) -> None:
    result = CliRunner().invoke(app, ["next", "--user", "Lan", "--now", NOW, "--limit", "10", "--json"])

    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert len(items) >= 3
    for item in items:
        assert set(item) >= CONTRACT_KEYS, item
        assert str(item["reason"]).strip(), item
        assert str(item["action"]).strip(), item
        assert isinstance(item["score"], int | float)
        assert item["due"] is None or date.fromisoformat(item["due"])
        shown = json.dumps(item, ensure_ascii=False)
        assert not any(name in shown for name in NOT_LANS), item
    assert {i["deal"] for i in items if i["deal"]} >= {"Hòa Phát — 200 bộ", "Masan — dây chuyền"}
    assert "Vinamilk" in {i["company"] for i in items}
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


def test_next_json_for_the_colleague_shows_his_deal_and_none_of_lans(book: Path) -> None:
    result = CliRunner().invoke(app, ["next", "--user", "Tuấn", "--now", NOW, "--json"])

    items = json.loads(result.stdout)
    assert {i["company"] for i in items} == {"Thành Công"}
    assert all(i["reason"].strip() for i in items)

"""`chatcrm import` and `chatcrm export`: --json prints only the document, a refused file is one line and exit 1,
the summary is in the user's language; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.core.spreadsheets.conftest import FIXTURES, write_workbook

BOOK = {"companies": [["name", "industry"], ["Hòa Phát", "Thép"]],
        "deals": [["title", "company", "amount"], ["Thép cuộn", "Hòa Phát", "1,2 tỷ"], ["Sai", "Hòa Phát", "abc"]]}


@pytest.fixture
def chatcrm(migrated_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `chatcrm ARGS…` over the test database; return (exit code, stdout, stderr)."""

    def invoke(*args: str, language: str = "vi") -> tuple[int, str, str]:
        env = {"CHATCRM_HOME": str(tmp_path / "home"), "CHATCRM_DATABASE_URL": migrated_url,
               "CHATCRM_LANGUAGE": language}
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_import_json_prints_only_the_document_of_the_contract(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_workbook(tmp_path / "book.xlsx", BOOK)

    code, out, _err = chatcrm("import", str(path), "--json")

    assert code == 0
    document = json.loads(out)
    assert document["created"] == {"companies": 1, "deals": 2}
    assert document["updated"] == {}
    assert document["skipped"] == {}
    (error,) = document["errors"]
    assert (error["sheet"], error["row"], error["column"], error["code"]) == ("deals", 3, "amount", "not_a_number")
    assert "abc" in error["message"]


def test_a_dry_run_then_a_second_import_create_nothing_more(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_workbook(tmp_path / "book.xlsx", BOOK)

    _, dry, _ = chatcrm("import", str(path), "--dry-run", "--json")
    chatcrm("import", str(path))
    _, again, _ = chatcrm("import", str(path), "--json")
    _, stats, _ = chatcrm("stats", "--json")

    assert json.loads(dry)["created"] == {"companies": 1, "deals": 2}
    assert json.loads(again)["created"] == {}
    assert json.loads(stats)["deals"] == 2


def test_the_summary_is_a_table_in_the_users_language(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_workbook(tmp_path / "book.xlsx", BOOK)

    code, out, _ = chatcrm("import", str(path), "--dry-run", language="en")

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Sheet", "created", "updated", "skipped", "errors"]
    assert lines[1].split() == ["Companies", "1", "0", "0", "0"]
    assert lines[2].split() == ["Deals", "2", "0", "0", "1"]
    assert any(line.startswith('Deals, row 3, column "amount"') for line in lines)


@pytest.mark.parametrize(("name", "content"), [("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
                                               ("empty.csv", b"")])
def test_a_refused_file_is_one_line_and_exit_1(chatcrm, tmp_path: Path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(content)

    code, out, err = chatcrm("import", str(path), "--json")

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert name in err
    assert "Traceback" not in err


def test_export_and_template_write_workbooks_import_reads(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    chatcrm("import", str(FIXTURES / "messy.xlsx"))

    code, _, err = chatcrm("export", str(tmp_path / "out.xlsx"), "--lang", "en")
    template_code, _, _ = chatcrm("export", "--template", str(tmp_path / "template.xlsx"))
    _, again, _ = chatcrm("import", str(tmp_path / "out.xlsx"), "--json")

    assert (code, template_code) == (0, 0)
    assert "out.xlsx" in err
    assert (tmp_path / "template.xlsx").exists()
    assert json.loads(again)["created"] == {}
    assert json.loads(again)["errors"] == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_problem_texts_shared_with_the_chat_name_no_command_line_and_no_tense(language: str) -> None:
    """The chat shows these too (a trial run included): no `chatcrm …`/`--json` hints, and the row's fate said
    so it is true of a trial run (nothing imported yet) as of a real one."""
    import yaml

    texts = yaml.safe_load((Path(__file__).resolve().parents[2] / "bot" / "texts" / f"{language}.yaml")
                           .read_text(encoding="utf-8"))["spreadsheet"]
    shared = [*texts["error"].values(), *texts["refused"].values(), texts["kept"], texts["left_out"],
              texts["more_errors"], texts["unknown_columns"], texts["unknown_sheets"]]
    assert not [t for t in shared if "chatcrm" in t or "--" in t]
    assert not [t for t in (texts["kept"], texts["left_out"]) if "đã" in t or "chưa" in t or "imported" in t]


def test_a_dry_run_on_a_fresh_home_leaves_no_database_behind(tmp_path: Path) -> None:
    """A trial run writes nothing, not even the home's SQLite file: it answers from a scratch copy, deleted after.
    (SQLite only: a server database exists before the first run.)"""
    path = write_workbook(tmp_path / "book.xlsx", BOOK)
    home = tmp_path / "fresh-home"
    env = {"CHATCRM_HOME": str(home), "CHATCRM_DATABASE_URL": "", "CHATCRM_LANGUAGE": "vi"}

    result = CliRunner().invoke(app, ["import", str(path), "--dry-run", "--json"], env=env)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["created"] == {"companies": 1, "deals": 2}
    assert not home.exists() or not any(home.iterdir())


def test_a_real_import_on_a_fresh_home_still_creates_its_database(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", BOOK)
    env = {"CHATCRM_HOME": str(tmp_path / "fresh-home"), "CHATCRM_DATABASE_URL": "", "CHATCRM_LANGUAGE": "vi"}

    CliRunner().invoke(app, ["import", str(path), "--dry-run"], env=env)
    imported = CliRunner().invoke(app, ["import", str(path), "--json"], env=env)
    stats = CliRunner().invoke(app, ["stats", "--json"], env=env)

    assert json.loads(imported.stdout)["created"] == {"companies": 1, "deals": 2}
    assert json.loads(stats.stdout)["deals"] == 2

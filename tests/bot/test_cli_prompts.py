"""`chatcrm prompts` per interfaces.md: list --json [{name, version, description}], history --json
[{version, created_at, author}] counting from 1 (the shipped file), set checks the text (a refused one saves
nothing and names the problem), rollback puts a version back in force; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

NEW_TEXT = "Trả lời bằng {language}, chỉ dựa vào:\n{context}\nCâu hỏi: {question}\n"


@pytest.fixture
def chatcrm(migrated_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `chatcrm ARGS…` over the test database; return (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        env = {"CHATCRM_HOME": str(tmp_path), "CHATCRM_DATABASE_URL": migrated_url}
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def _json(chatcrm, *args: str) -> object:  # type: ignore[no-untyped-def]
    code, out, err = chatcrm(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_list_gives_name_version_and_description_of_every_prompt(chatcrm) -> None:  # type: ignore[no-untyped-def]
    listed = _json(chatcrm, "prompts", "list")

    assert isinstance(listed, list)
    by_name = {item["name"]: item for item in listed}
    assert {"faq_answer", "parse_log", "summary_highlights"} <= set(by_name)
    assert all(set(item) == {"name", "version", "description"} for item in listed)
    assert by_name["faq_answer"]["version"] == 1
    assert by_name["faq_answer"]["description"]


def test_set_history_and_rollback(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    new = tmp_path / "faq.txt"
    new.write_text(NEW_TEXT, encoding="utf-8")

    code, _out, err = chatcrm("prompts", "set", "faq_answer", "--file", str(new))
    history = _json(chatcrm, "prompts", "history", "faq_answer")
    listed = {i["name"]: i["version"] for i in _json(chatcrm, "prompts", "list")}  # type: ignore[union-attr]
    shown = _json(chatcrm, "prompts", "show", "faq_answer")
    back_code, _o, _e = chatcrm("prompts", "rollback", "faq_answer", "--to", "1")
    after = {i["name"]: i["version"] for i in _json(chatcrm, "prompts", "list")}  # type: ignore[union-attr]

    assert code == 0
    assert "version 2" in err
    assert [(h["version"], h["author"]) for h in history] == [(1, "shipped"), (2, "cli")]  # type: ignore[index]
    assert all(set(h) == {"version", "created_at", "author"} for h in history)  # type: ignore[union-attr]
    assert listed["faq_answer"] == 2
    assert shown["template"] == NEW_TEXT  # type: ignore[index]
    assert back_code == 0
    assert after["faq_answer"] == 1


def test_a_refused_text_names_the_problem_and_saves_nothing(chatcrm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.txt"
    bad.write_text("Trả lời {question} bằng {language} cho {customer}", encoding="utf-8")

    code, out, err = chatcrm("prompts", "set", "faq_answer", "--file", str(bad))

    assert code == 1
    assert out == ""
    assert "missing variable(s): {context}" in err
    assert "unknown variable(s): {customer}" in err
    assert [h["version"] for h in _json(chatcrm, "prompts", "history", "faq_answer")] == [1]  # type: ignore[index]


def test_an_unknown_prompt_or_version_is_one_line_and_exit_1(chatcrm) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = chatcrm("prompts", "show", "khong_co")
    back, _o, back_err = chatcrm("prompts", "rollback", "faq_answer", "--to", "7")

    assert code == 1
    assert err.count("\n") == 1
    assert "khong_co" in err
    assert back == 1
    assert "no version 7" in back_err


def test_show_ends_with_a_newline_even_when_the_text_has_none(  # type: ignore[no-untyped-def]
        chatcrm, tmp_path: Path) -> None:
    new_text = tmp_path / "faq.txt"
    new_text.write_text(NEW_TEXT.rstrip("\n"), encoding="utf-8")
    code, _out, err = chatcrm("prompts", "set", "faq_answer", "--file", str(new_text))
    assert code == 0, err

    code, out, _err = chatcrm("prompts", "show", "faq_answer")
    _code, shipped_out, _err = chatcrm("prompts", "show", "faq_answer", "--version", "1")

    assert code == 0
    assert out == NEW_TEXT.rstrip("\n") + "\n"
    assert shipped_out.endswith("\n")
    assert not shipped_out.endswith("\n\n")


@pytest.mark.parametrize("name", ["../prompts/faq_answer", "x" * 300])
def test_a_prompt_name_that_is_a_path_or_too_long_is_unknown(chatcrm, name: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = chatcrm("prompts", "show", name)
    history, _out, history_err = chatcrm("prompts", "history", name)

    assert (code, out) == (1, "")
    assert "no prompt named" in err
    assert history == 1
    assert "no prompt named" in history_err


@pytest.mark.parametrize("ending", ["", "\n"])
def test_set_with_the_text_in_force_saves_nothing_and_says_so(  # type: ignore[no-untyped-def]
        chatcrm, tmp_path: Path, ending: str) -> None:
    _code, shipped, _err = chatcrm("prompts", "show", "faq_answer")
    same = tmp_path / "same.txt"
    same.write_text(shipped.rstrip("\n") + ending, encoding="utf-8")

    code, out, err = chatcrm("prompts", "set", "faq_answer", "--file", str(same), "--json")

    assert code == 0, err
    assert json.loads(out) == {"name": "faq_answer", "version": 1}  # the version in force, as a save says it
    assert "unchanged" in err
    assert "saved" not in err.replace("nothing saved", "")
    assert [h["version"] for h in _json(chatcrm, "prompts", "history", "faq_answer")] == [1]  # type: ignore[index]

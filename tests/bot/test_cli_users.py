"""`chatcrm users`: a namesake refused in one line naming the colleague (or added with --force, both shown),
`users set-role` and `users deactivate` by name or number; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app


@pytest.fixture
def chatcrm(migrated_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run `chatcrm ARGS…` over the test database; return (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        env = {"CHATCRM_HOME": str(tmp_path), "CHATCRM_DATABASE_URL": migrated_url}
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return invoke


def _users(chatcrm) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    code, out, _err = chatcrm("users", "list", "--json")
    assert code == 0
    return list(json.loads(out))


def test_a_namesake_is_refused_in_one_line_naming_the_colleague(chatcrm) -> None:  # type: ignore[no-untyped-def]
    chatcrm("users", "add", "--name", "Lan", "--role", "sales", "--telegram-id", "1001")

    code, out, err = chatcrm("users", "add", "--name", "lân", "--role", "sales")

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "#1 Lan (sales, telegram 1001)" in err
    assert "--force" in err
    assert [u["name"] for u in _users(chatcrm)] == ["Lan"]


def test_force_adds_the_namesake_and_shows_both(chatcrm) -> None:  # type: ignore[no-untyped-def]
    chatcrm("users", "add", "--name", "Lan", "--role", "sales", "--telegram-id", "1001")

    code, _out, err = chatcrm("users", "add", "--name", "Lan", "--role", "manager", "--force")

    assert code == 0
    assert "added #2 Lan (manager)" in err
    assert "#1 Lan (sales, telegram 1001)" in err
    assert [(u["name"], u["role"]) for u in _users(chatcrm)] == [("Lan", "sales"), ("Lan", "manager")]


def test_set_role_by_name_keeps_the_json_contract(chatcrm) -> None:  # type: ignore[no-untyped-def]
    chatcrm("users", "add", "--name", "Nguyễn Thị Lan", "--role", "sales", "--telegram-id", "1001")

    code, _out, err = chatcrm("users", "set-role", "nguyen thi lan", "manager")

    assert code == 0
    assert "sales -> manager" in err
    assert _users(chatcrm) == [{"name": "Nguyễn Thị Lan", "role": "manager", "telegram_id": 1001, "language": "vi",
                                "active": True}]


def test_set_role_to_an_unknown_role_is_one_line(chatcrm) -> None:  # type: ignore[no-untyped-def]
    chatcrm("users", "add", "--name", "Lan", "--role", "sales")

    code, _out, err = chatcrm("users", "set-role", "Lan", "boss")

    assert (code, err.count("\n")) == (1, 1)
    assert "sales, manager, admin" in err


def test_deactivate_by_number(chatcrm) -> None:  # type: ignore[no-untyped-def]
    chatcrm("users", "add", "--name", "Lan", "--role", "sales")
    chatcrm("users", "add", "--name", "Tuấn", "--role", "sales")

    code, _out, err = chatcrm("users", "deactivate", "#2")

    assert code == 0
    assert "deactivated #2 Tuấn" in err
    assert [(u["name"], u["active"]) for u in _users(chatcrm)] == [("Lan", True), ("Tuấn", False)]


def test_an_unknown_user_is_one_line(chatcrm) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = chatcrm("users", "deactivate", "Xyz")

    assert (code, err.count("\n")) == (1, 1)
    assert "users list" in err

"""A wrong setting is one clear line; the bot token never appears in what the command prints or logs."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import SecretFilter, app

TOKEN = "123456:SECRET-token-value"


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("CHATCRM_LEAD_RULES", "notjson", "lead_rules"),
    ("CHATCRM_TIMEZONE", "Mars/Phobos", "CHATCRM_TIMEZONE"),
    ("CHATCRM_UNDO_MINUTES", "-5", "CHATCRM_UNDO_MINUTES"),
    ("CHATCRM_DEAL_VISIBILITY", "everyone", "CHATCRM_DEAL_VISIBILITY"),
    ("CHATCRM_WEBHOOK_SECRET", "abc def/+=", "CHATCRM_WEBHOOK_SECRET"),
])
def test_a_wrong_setting_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: object, variable: str,
                                                value: str, named: str) -> None:
    monkeypatch.setenv(variable, value)

    result = CliRunner().invoke(app, ["stats", "--json"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert named in result.output


def test_a_broken_bot_api_address_is_reported_without_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", "notaurl")

    result = CliRunner().invoke(app, ["bot"])

    assert result.exit_code == 1
    assert TOKEN not in result.output
    assert "<TELEGRAM_BOT_TOKEN>" in result.output


def test_log_records_carrying_the_token_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("aiogram.test")
    secret_filter = SecretFilter(TOKEN)
    logger.addFilter(secret_filter)
    try:
        with caplog.at_level(logging.INFO):
            logger.info("GET http://127.0.0.1:8081/bot%s/getMe", TOKEN)
            try:
                raise RuntimeError(f"HTTP Client says - notaurl/bot{TOKEN}/getMe")
            except RuntimeError:
                logger.exception("request failed")
    finally:
        logger.removeFilter(secret_filter)

    assert TOKEN not in caplog.text


def test_a_wrong_deal_visibility_names_the_values_it_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATCRM_DEAL_VISIBILITY", "everyone")

    result = CliRunner().invoke(app, ["stats", "--json"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert all(value in result.output for value in ("'own'", "'team'", "'all'"))


def test_db_upgrade_says_whether_it_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path))

    first = CliRunner().invoke(app, ["db", "upgrade"])
    second = CliRunner().invoke(app, ["db", "upgrade"])

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert "migrated from schema empty" in first.output
    assert "up to date" in second.output


def test_db_upgrade_without_a_reachable_server_is_one_line_without_the_password(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path))
    monkeypatch.setenv("CHATCRM_DATABASE_URL", f"postgresql+asyncpg://crm:pa55word@127.0.0.1:{port}/crm")

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "pa55word" not in result.output
    assert "CHATCRM_DATABASE_URL" in result.output

"""A wrong setting is one clear line; the bot token never appears in what the command prints or logs."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from bot.cli import SecretFilter, app

TOKEN = "123456:SECRET-token-value"


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("CHATCRM_LEAD_RULES", "notjson", "lead_rules"),
    ("CHATCRM_TIMEZONE", "Mars/Phobos", "CHATCRM_TIMEZONE"),
    ("CHATCRM_UNDO_MINUTES", "-5", "CHATCRM_UNDO_MINUTES"),
    ("CHATCRM_DEAL_VISIBILITY", "everyone", "CHATCRM_DEAL_VISIBILITY"),
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

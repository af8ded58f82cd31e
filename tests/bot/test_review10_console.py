"""The console chat shows the bot's replies only (review of issue 10, new user 8): a library's log record goes
to a log file, never into the chat; and confirming a log's close does no slow work inside a writing transaction."""

from __future__ import annotations

import io
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from bot.commands import logs_to_file
from bot.texts import Texts
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


def test_log_records_of_a_console_chat_go_to_a_file_not_the_terminal(tmp_path: Path) -> None:
    terminal = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(terminal)
    root.addHandler(handler)
    try:
        with logs_to_file(tmp_path / "logs" / "console.log") as path:
            logging.getLogger("crm_core.uow").warning("slow work inside a writing transaction")
        assert terminal.getvalue() == ""
        assert "slow work" in path.read_text(encoding="utf-8")
        assert handler in root.handlers  # the terminal gets its records back once the chat ends
    finally:
        root.removeHandler(handler)


async def test_confirming_a_logs_close_warns_of_no_slow_work(
        lan: ChatDriver, open_services: OpenServices, caplog: pytest.LogCaptureFixture) -> None:
    async with open_services() as services:
        user = await services.users.by_name("Lan")
        assert user is not None
        row = await services.directory.create_company("Hòa Phát", owner_id=user.id)
        await services.deals.create(title="Hòa Phát — 100 bộ bàn AP-D120", owner_id=user.id, company_id=row.id,
                                    contact_id=None, stage_key="quote", amount=Decimal(300_000_000), currency="VND",
                                    quantity=100)
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    await lan.press(VI("btn.save"))
    with caplog.at_level(logging.WARNING, logger="crm_core.uow"):
        await lan.press(VI("lost_reason.no_need"))
    assert not [r for r in caplog.records if "slow work" in r.getMessage()]

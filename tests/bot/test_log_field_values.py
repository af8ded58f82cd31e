"""A typed value a field edit cannot read is answered with what that field takes (issue 10, case 3)."""

from __future__ import annotations

from bot.texts import Texts
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
HOA_PHAT_LOG = "Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu"


def _head(key: str) -> str:
    """The part of a text before its first placeholder."""
    return VI(key, text="{").split("{")[0]


async def test_an_unreadable_quantity_asks_for_a_quantity_not_a_date(lan: ChatDriver) -> None:
    await lan.say(HOA_PHAT_LOG)
    await lan.press(VI("btn.edit"))
    await lan.press(VI("field.quantity"))

    await lan.say("chưa rõ")

    assert _head("log.bad_quantity") in lan.text
    assert _head("log.bad_due") not in lan.text
    assert VI("log.type_again", field=VI("field.quantity").lower()) in lan.text
    await lan.say("150 bộ")  # the edit is still open
    assert "150" in lan.text

"""Staff wording (review of issue 10, new user 8): "?" alone is not an emoji, and the bot calls a staff member
"bạn" throughout (bot/texts/vi.yaml: "anh/chị" is for customers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.texts import Texts
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
STAFF_SECTIONS = ("log", "task", "deal", "find", "staff")


async def test_a_question_mark_alone_is_not_called_an_emoji(lan: ChatDriver) -> None:
    replies = await lan.say("?")
    assert replies[-1].text == VI("common.no_words")


async def test_an_emoji_alone_is_called_an_emoji(lan: ChatDriver) -> None:
    replies = await lan.say("👍")
    assert replies[-1].text == VI("common.emoji_only")


def _values(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for child in node.values() for v in _values(child)]
    return [node] if isinstance(node, str) else []


def test_staff_texts_say_ban_not_anh_chi() -> None:
    texts = yaml.safe_load((Path(__file__).parents[2] / "bot/texts/vi.yaml").read_text(encoding="utf-8"))
    staff = [v for section in STAFF_SECTIONS for v in _values(texts.get(section, {}))]
    assert staff
    assert [v for v in staff if "anh/chị" in v.lower()] == []
    assert "anh/chị" not in VI("common.unexpected_not_kept").lower()

"""Wording a new user noticed (issue 15 review 12): Vietnamese says "cơ hội" for a deal everywhere, English counts
"once" / "3 times", a refused spreadsheet's reason is a full sentence, and whoever may not use a command is
addressed politely and told whom to ask."""

from __future__ import annotations

import re

import pytest

from bot.texts import LANGUAGES, Texts, _catalog

# "deal" as a word in a Vietnamese text, not a placeholder ({deal}) nor a command (/deal).
_DEAL_WORD = re.compile(r"(?<![{/#\w.])deals?(?![}\w])", re.IGNORECASE)


def test_vietnamese_texts_say_co_hoi_not_deal() -> None:
    assert [key for key, text in _catalog("vi").items() if _DEAL_WORD.search(text)] == []


def test_vietnamese_texts_spell_xoa_one_way() -> None:
    """"xóa", as most texts had it; never "xoá" (the other tone-mark placement) beside it."""
    spellings = re.compile(r"\bxo\u00e1|xo\u0301a|xoa\u0301", re.IGNORECASE)
    texts = _catalog("vi")

    assert [key for key, text in texts.items() if spellings.search(text)] == []
    assert any("xóa" in text.lower() for text in texts.values())


@pytest.mark.parametrize(("count", "said"), [(1, "once"), (3, "3 times")])
def test_english_gaps_count_in_words_that_agree(count: int, said: str) -> None:
    en = Texts("en")
    assert en("gaps.line", number=1, example="x", count=count).endswith(said)
    assert f"(asked {said})" in en("gaps.ask_answer", example="x", count=count, minutes=10)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refused_spreadsheets_reason_is_a_full_sentence(language: str) -> None:
    refused = {k: v for k, v in _catalog(language).items() if k.startswith("spreadsheet.refused.")}
    assert refused
    assert [k for k, v in refused.items() if not v.endswith(".")] == []


def test_not_allowed_is_polite_and_says_whom_to_ask() -> None:
    text = Texts("vi")("common.not_allowed")
    assert text.startswith("Anh/chị")
    assert "quản trị viên" in text
    assert "admin" in Texts("en")("common.not_allowed")

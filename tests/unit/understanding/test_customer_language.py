"""Which language a customer's message is written in, when its letters decide it."""

from __future__ import annotations

import pytest

from crm_core.understanding.customer_intent import decided_language


@pytest.mark.parametrize(("text", "language"), [
    ("bảo hành bao lâu?", "vi"),
    ("bao hanh bao lau", "vi"),
    ("How long is the warranty?", "en"),
    ("ship ra Đà Nẵng bao lâu", "vi"),
    ("Do you ship to Hanoi?", "en"),
])
def test_a_message_with_deciding_words_has_their_language(text: str, language: str) -> None:
    assert decided_language(text) == language


@pytest.mark.parametrize("text", ["ship?", "ok", "5", "shipper", "AP-C300?", "ap c300 ??"])
def test_loanwords_digits_and_small_talk_alone_decide_no_language(text: str) -> None:
    assert decided_language(text) is None

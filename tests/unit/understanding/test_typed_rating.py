"""A customer's typed rating of a ticket just closed: the score with courtesy words around it, never a number
from a question or an order."""

from __future__ import annotations

import pytest

from crm_core.understanding.conversation import typed_rating


@pytest.mark.parametrize(("text", "score"), [
    ("4", 4),
    ("5/5", 5),
    ("5 sao", 5),
    ("4 điểm", 4),
    ("⭐⭐⭐⭐", 4),
    ("tốt lắm", 5),
    ("4 sao, cảm ơn em", 4),
    ("5 sao nha shop, cam on e", 5),
    ("⭐⭐⭐⭐⭐ cảm ơn", 5),
    ("⭐⭐⭐ nhé shop", 3),
    ("⭐⭐⭐⭐⭐ tuyệt vời", 5),
    ("5* nhé", 5),
    ("5⭐", 5),
    ("cho 4 sao nhé em", 4),
    ("4 điểm, cảm ơn", 4),
    ("dạ 5 sao ạ", 5),
    ("chấm 5 sao nha", 5),
    ("cảm ơn shop nhiều, 5 sao", 5),
    ("tốt lắm, cảm ơn e", 5),
    ("5 stars, thanks", 5),
    ("1 sao tệ", 1),
    ("⭐ tệ", 1),
    ("2 sao tệ quá", 2),
])
def test_a_score_with_courtesy_words_around_it_is_the_rating(text: str, score: int) -> None:
    assert typed_rating(text) == score


@pytest.mark.parametrize("text", [
    "5 bộ giá bao nhiêu",
    "mua 4 cái",
    "giao 5 ngày à?",
    "5 ngày nhé",
    "cho em 2 cái nhé",
    "4 sao à?",
    "5?",
    "cảm ơn",
    "cho 6 sao",
    "10 điểm",
    "⭐⭐⭐⭐⭐⭐",
    "⭐⭐ giao chậm quá",
    "⭐⭐⭐ 5",
    "5 nhiêu shop",
    "⭐⭐⭐⭐⭐ rất tệ",
    "5 sao chậm nha",
    "⭐⭐⭐⭐⭐ chậm nhiều",
])
def test_a_number_in_a_question_an_order_or_out_of_range_is_no_rating(text: str) -> None:
    assert typed_rating(text) is None

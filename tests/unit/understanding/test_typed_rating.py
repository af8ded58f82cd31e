"""A customer's typed rating of a ticket just closed: the score with courtesy words around it, never a number
from a question or an order."""

from __future__ import annotations

import pytest

from crm_core.understanding.conversation import read_rating, typed_rating


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
    ("năm sao", 5),
    ("nam sao nha shop", 5),
    ("bốn điểm", 4),
    ("ba sao", 3),
    ("five stars", 5),
    ("4 sao thôi", 4),
    ("4 sao chậm", 4),
    ("⭐⭐ giao chậm quá", 2),
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
    "⭐⭐⭐ 5",
    "5 nhiêu shop",
    "⭐⭐⭐⭐⭐ rất tệ",
    "5 sao chậm nha",
    "⭐⭐⭐⭐⭐ chậm nhiều",
    "4 nhiêu shop",
    "năm nay",
    "ba ơi",
    "5 sao vì giao chậm",
    "5 sao, bao giờ có hàng mới",
    "4 sao, còn màu đen không",
    "5 sao. Cho e hỏi bàn AP-D140 còn hàng ko",
    "4, giao chậm",
    "mua 5 cái, giao nhanh",
    "5 sao do you have black chairs",
    "5 sao, gọi lại cho em 0912345678",
    "4 sao, ghế bị gãy chân rồi, đổi cho em",
    "5 stars, I want to order 10 chairs",
    "4 sao nhưng em muốn hủy đơn",
    "5 sao - hủy đơn 456 giúp em",
    "5 sao, bàn AP-D140 còn hàng không ạ",
    "5 sao, ship được ko ạ",
    "5 sao, có giao HN không shop",
    "1 sao - đơn hàng em đâu rồi",
    "5 sao là sao",
    "mua 5 cái giao 3 sao",
    "1 sao, ghe gay chan, toi muon tra hang",
    "em đã chuyển khoản ngày 4/5",
    "giao ngày 4/5 nhé",
    "deliver on 3/5",
    "size 4/5",
    "1/5 mình qua lấy",
    "bên em có ghế loại 5 sao",
    "nệm chuẩn khách sạn 5 sao",
    "tích được 5 điểm",
    "em cho 5 sao trên google rồi",
    "5 sao tệ",
])
def test_a_number_in_a_question_an_order_or_out_of_range_is_no_rating(text: str) -> None:
    assert typed_rating(text) is None


@pytest.mark.parametrize(("text", "score"), [
    ("4 sao thôi vì giao hơi chậm", 4),
    ("4 sao thoi vi giao hoi cham", 4),
    ("hàng đẹp, giao nhanh, 5 sao", 5),
    ("giao hàng nhanh nên 5 sao", 5),
    ("3 sao - nhân viên tư vấn nhiệt tình nhưng giao trễ", 3),
    ("2 sao. ghế bị lỗi tay vịn", 2),
    ("4 điểm nhưng nhân viên chưa nhiệt tình", 4),
    ("5 sao, không có gì để chê", 5),
    ("five stars, great service", 5),
    ("⭐⭐⭐⭐ ship hơi lâu", 4),
    ("3 sao ghế hơi cứng", 3),
    ("ship chậm quá 3 sao", 3),
    ("dc 3 sao thoi, ship cham qua", 3),
    ("2/5, chair wobbles", 2),
])
def test_a_reason_beside_a_score_with_its_unit_is_kept_as_the_remark(text: str, score: int) -> None:
    rating = read_rating(text)
    assert rating is not None
    assert (rating.score, rating.remark) == (score, text)


@pytest.mark.parametrize("text", ["4", "5 sao nha shop, cam on e", "⭐⭐⭐⭐⭐ cảm ơn", "năm sao", "3/5 tạm được",
                                  "3 sao tam duoc", "5 sao tuyệt vời", "được 3 sao thôi"])
def test_a_score_with_courtesy_words_only_has_no_remark(text: str) -> None:
    rating = read_rating(text)
    assert rating is not None
    assert rating.remark is None

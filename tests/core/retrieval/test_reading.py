"""An answer is readable: lines and lists kept, tables as label: value lines, the answering line first, cut at a
sentence when long."""

from __future__ import annotations

from crm_core.retrieval.normalize import AccentRestorer, prepare_query
from crm_core.retrieval.reading import excerpt, readable_lines
from crm_core.retrieval.signals import QuestionSignals

WARRANTY = """Thời hạn tính từ ngày giao hàng:
| Sản phẩm | Thời hạn |
| --- | --- |
| Bàn làm việc | 24 tháng |
| Ghế: piston | 24 tháng |
| Tủ sắt | 36 tháng |"""

DISCOUNT = """Chiết khấu theo tổng số bộ trong một đơn:
| Số bộ | Chiết khấu |
| --- | --- |
| 10-49 bộ | 3% |
| 50-99 bộ | 5% |
| 200 bộ trở lên | 10% |"""

DESK = """- Kích thước: dài 120 × sâu 60 × cao 75 cm.
- Màu: Trắng, Vân sồi.
- Giá niêm yết: 1.850.000 ₫/cái.
Phù hợp văn phòng nhỏ."""

COMPARE = """| Mẫu | Tải | Giá |
| --- | --- | --- |
| AP-C200 | 100 kg | 1.650.000 ₫ |
| AP-C300 | 150 kg | 4.250.000 ₫ |"""


def _signals(question: str) -> QuestionSignals:
    return QuestionSignals.of(prepare_query(question, AccentRestorer()))


def test_a_two_column_table_becomes_label_value_lines() -> None:
    assert readable_lines(WARRANTY) == [
        "Thời hạn tính từ ngày giao hàng:",
        "Bàn làm việc: 24 tháng",
        "Ghế: piston: 24 tháng",
        "Tủ sắt: 36 tháng",
    ]


def test_a_wider_table_names_each_value_by_its_column() -> None:
    assert readable_lines(COMPARE)[1] == "AP-C300: Tải: 150 kg; Giá: 4.250.000 ₫"


def test_list_items_stay_on_their_own_lines() -> None:
    lines = excerpt(DESK, "Bàn làm việc AP-D120", _signals("bàn AP-D120 có màu trắng không"), 700).text.splitlines()
    assert "- Màu: Trắng, Vân sồi." in lines
    assert "- Kích thước: dài 120 × sâu 60 × cao 75 cm." in lines


def test_a_price_question_gets_the_price_line_first() -> None:
    text = excerpt(DESK, "Bàn làm việc AP-D120", _signals("bàn AP-D120 giá bao nhiêu"), 700).text
    assert text.splitlines()[0] == "- Giá niêm yết: 1.850.000 ₫/cái."


def test_the_row_holding_the_questions_number_comes_first() -> None:
    text = excerpt(DISCOUNT, "Chiết khấu theo số lượng", _signals("mua 50 bộ có chiết khấu không"), 700).text
    assert text.splitlines()[0] == "50-99 bộ: 5%"


def test_the_row_of_the_asked_model_comes_first_in_a_comparison() -> None:
    text = excerpt(COMPARE, "So sánh AP-C200 và AP-C300", _signals("how much is the AP-C300"), 700).text
    assert text.splitlines()[0].startswith("AP-C300:")


def test_a_long_answer_is_cut_at_a_sentence_end() -> None:
    text = "Câu thứ nhất nói về giao hàng. Câu thứ hai nói về phí. Câu thứ ba rất dài " + "nữa " * 40 + "."
    found = excerpt(text, "Giao hàng", _signals("giao hàng"), 80)
    assert found.truncated
    assert found.text == "Câu thứ nhất nói về giao hàng. Câu thứ hai nói về phí."


def test_a_short_answer_is_whole_and_not_cut() -> None:
    found = excerpt(DESK, "Bàn làm việc AP-D120", _signals("bàn AP-D120"), 700)
    assert not found.truncated
    assert found.text.count("\n") == 3

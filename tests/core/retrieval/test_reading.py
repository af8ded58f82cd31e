"""An answer is readable: lines and lists kept, tables as label: value lines, the answering line first, cut at a
sentence when long."""

from __future__ import annotations

import pytest

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

CHAIR = """- Lưng lưới, có tựa đầu.
- Màu: Đen, Xám.
- Tải trọng: 120 kg.
- Giá niêm yết: 2.150.000 ₫/cái.
Mẫu được chọn nhiều nhất."""

CREDIT = """- Công nợ 30 ngày, hạn mức đến 300.000.000 ₫.
- Quá hạn công nợ: tính lãi 0,05%/ngày trên số tiền chậm trả."""

HOURS = """- Showroom: thứ Hai đến thứ Bảy, 8:00-17:30.
- Chủ nhật: showroom Tân Bình mở 8:30-12:00.
- Nghỉ các ngày lễ, Tết."""

# Steps whose last one states a duration and repeats the question's words.
STEPS = """Áp dụng cho khách lẻ:
1. Gọi hotline hoặc nhắn Zalo.
2. Gửi ảnh lỗi và mã sản phẩm.
3. Cửa hàng xác nhận lịch hẹn.
4. Kỹ thuật viên sửa tại chỗ trong 48 giờ, thay linh kiện bảo hành.
Không cần mang sản phẩm đến cửa hàng."""

ROOMS = """- Phòng 8-10 m²: AP-MR100 (4 chỗ).
- Phòng 12-15 m²: AP-MT180 (6 chỗ).
- Phòng 18-22 m²: AP-MT240 (8-10 chỗ).
Mỗi người cần khoảng 60-70 cm chiều dài bàn."""

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


@pytest.mark.parametrize(
    "question", ["phòng họp 10 người nên dùng bàn nào", "phong hop 10 nguoi", "meeting table for 10 people"]
)
def test_the_row_counting_what_the_question_counts_comes_first(question: str) -> None:
    # 10 people is the 8-10 seat row, not the 8-10 m² room.
    text = excerpt(ROOMS, "Chọn bàn họp theo diện tích phòng", _signals(question), 700).text
    assert "AP-MT240" in text.splitlines()[0]


def test_a_number_with_no_unit_fits_a_row_with_one() -> None:
    text = excerpt(DISCOUNT, "Chiết khấu theo số lượng", _signals("mua 50 thì chiết khấu sao"), 700).text
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


def _lines(text: str, heading: str, question: str, limit: int = 700) -> list[str]:
    return excerpt(text, heading, _signals(question), limit).text.splitlines()


def _in_document_order(shown: list[str], text: str) -> bool:
    order = readable_lines(text)
    positions = [order.index(line) for line in shown if line]
    return positions == sorted(positions)


@pytest.mark.parametrize("question", ["AP-C210 bao nhiêu", "ap-c210 bao nhiu", "ghế AP-C210 bn vậy shop"])
def test_a_bare_how_much_gets_the_price_line_first_and_the_rest_in_the_documents_order(question: str) -> None:
    lines = _lines(CHAIR, "Ghế lưới AP-C210", question)
    assert lines[0] == "- Giá niêm yết: 2.150.000 ₫/cái."
    assert _in_document_order(lines[1:], CHAIR)


def test_a_bare_how_much_about_a_rate_gets_the_line_stating_the_rate_first() -> None:
    assert _lines(CREDIT, "Công nợ", "quá hạn công nợ tính lãi bao nhiêu")[0].startswith("- Quá hạn công nợ")


def test_how_much_a_chair_holds_gets_the_weight_line_first_not_the_price() -> None:
    assert _lines(CHAIR, "Ghế lưới AP-C210", "AP-C210 chịu tải bao nhiêu")[0] == "- Tải trọng: 120 kg."


@pytest.mark.parametrize("question", ["ghế AP-C210 bảo hành thế nào", "cho xem ghế AP-C210"])
def test_sentences_the_search_matched_do_not_reorder_a_section_no_line_of_which_answers(question: str) -> None:
    matched_weight_and_price = (2, 4)  # the dense search's window: "Tải trọng…", "Giá niêm yết…"
    found = excerpt(CHAIR, "Ghế lưới AP-C210", _signals(question), 700, matched_weight_and_price)
    assert found.text.splitlines() == readable_lines(CHAIR)


def test_the_line_naming_what_is_asked_about_comes_first() -> None:
    lines = _lines(CHAIR, "Ghế lưới AP-C210", "ghế AP-C210 có màu gì")
    assert lines[0] == "- Màu: Đen, Xám."
    assert _in_document_order(lines[1:], CHAIR)


def test_the_line_about_the_asked_day_comes_first_for_a_question_in_the_other_language() -> None:
    lines = _lines(HOURS, "Giờ làm việc", "What are your opening hours on Sunday?")
    assert lines[0].startswith("- Chủ nhật")
    assert _in_document_order(lines[1:], HOURS)


@pytest.mark.parametrize("question", ["sửa tại chỗ mất bao lâu", "kỹ thuật viên thay linh kiện bảo hành",
                                      "quy trình bảo hành thế nào", "bảo hành làm sao"])
def test_numbered_steps_are_shown_all_in_their_order(question: str) -> None:
    lines = _lines(STEPS, "Cách yêu cầu bảo hành", question)
    steps = [line.split(".")[0] for line in lines if line[:1].isdigit()]
    assert steps == ["1", "2", "3", "4"]
    assert lines.index("Áp dụng cho khách lẻ:") == lines.index("1. Gọi hotline hoặc nhắn Zalo.") - 1


def test_numbered_steps_cut_short_are_a_prefix_of_the_list() -> None:
    lines = _lines(STEPS, "Cách yêu cầu bảo hành", "sửa tại chỗ mất bao lâu", limit=90)
    steps = [line.split(".")[0] for line in lines if line[:1].isdigit()]
    assert steps == [str(n) for n in range(1, len(steps) + 1)]
    assert steps


COMBOS = """"Bộ" là 1 bàn + 1 ghế. Giá combo đã rẻ hơn mua lẻ:
| Mã bộ | Giá combo |
| --- | --- |
| AP-SET01 | 3.290.000 ₫/bộ |
| AP-SET02 | 3.990.000 ₫/bộ |
Giá combo chưa gồm VAT."""


def test_the_line_introducing_items_that_all_lead_leads_with_them() -> None:
    text = excerpt(COMBOS, "Các bộ combo", _signals("combo giá bao nhiêu"), 700).text

    lines = text.splitlines()
    assert lines[0].endswith("rẻ hơn mua lẻ:")
    assert [line.split(":")[0] for line in lines[1:3]] == ["AP-SET01", "AP-SET02"]


def test_a_line_introducing_rows_of_which_one_leads_stays_with_the_rest() -> None:
    text = excerpt(DISCOUNT, "Chiết khấu theo số lượng", _signals("mua 50 bộ có chiết khấu không"), 700).text

    assert text.splitlines()[0] == "50-99 bộ: 5%"
    assert text.splitlines()[2] == "Chiết khấu theo tổng số bộ trong một đơn:"

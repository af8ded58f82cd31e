"""The demo business's own questions (issue 11, item 1): the section that answers, in the question's language."""

from __future__ import annotations

import pytest

from crm_core.retrieval import KnowledgeBase

RETURNS = ("policies/doi-tra.md", "Đổi hàng do lỗi sản xuất")
DELIVERY_TIME = ("policies/giao-hang-lap-dat.md", "Thời gian giao hàng")
DELIVERY_FEE = ("policies/giao-hang-lap-dat.md", "Phí giao hàng")
PAYMENT = ("policies/thanh-toan.md", "Phương thức thanh toán")
DISCOUNT = ("products/combo-van-phong.md", "Chiết khấu theo số lượng bộ")
C300 = ("products/ghe-cong-thai-hoc.md", "Ghế công thái học AP-C300 toàn lưới")
C310 = ("products/ghe-cong-thai-hoc.md", "Ghế công thái học AP-C310 bọc da")
CHAIRS = ("products/ghe-cong-thai-hoc.md", "So sánh ghế AP-C200, AP-C210, AP-C300 và AP-C310")
NOISE_FAQ = ("faq.csv", "Bàn nâng hạ có ồn không?")
HD160 = ("products/ban-lam-viec.md", "Bàn nâng hạ điện AP-HD160")
WARRANTY_TABLE = ("policies/bao-hanh.md", "Thời hạn bảo hành theo loại sản phẩm")
# Still lost by ranking (issue 11, item 1): the refund section ("hoàn về thẻ") outranks the payment methods for a
# yes/no question about paying by card; no signal fitted on the dev split lifts the heading that names the topic
# (see benchmarks/faq/README.md, session 6).
OPEN = pytest.mark.xfail(reason="issue 11 item 1: ranking not fixed yet", strict=False)


@pytest.mark.parametrize(
    ("question", "answering"),
    [
        ("đổi trả trong bao lâu nếu ghế bị lỗi", {RETURNS}),
        ("giao hàng ra Đà Nẵng mất mấy ngày, có tính phí không?", {DELIVERY_TIME, DELIVERY_FEE}),
        ("ship ra Hà Nội bao lâu", {DELIVERY_TIME}),
        pytest.param("thanh toán bằng thẻ được không", {PAYMENT}, marks=OPEN),
        ("mua 50 bộ bàn ghế có chiết khấu không?", {DISCOUNT}),
        ("how much is the AP-C300 chair?", {C300, CHAIRS}),
        # New-user review: the English care guide names AP-C310 (and states a cleaning fee); the section about it wins.
        ("how much is the AP-C310 leather chair?", {C310, CHAIRS}),
        ("Is the AP-HD160 desk noisy?", {NOISE_FAQ, HD160}),
        ("bảo hành ghế bao lâu?", {WARRANTY_TABLE}),
    ],
)
def test_the_section_that_answers_comes_first(
    demo_kb: KnowledgeBase, question: str, answering: set[tuple[str, str]]
) -> None:
    answer = demo_kb.ask(question)
    top = answer.sources[0]
    assert (top.doc, top.section) in answering


@pytest.mark.parametrize(
    "question", ["giao hàng ra Đà Nẵng mất mấy ngày, có tính phí không?", "ship ra Hà Nội bao lâu"]
)
def test_a_vietnamese_question_is_answered_from_the_vietnamese_document(demo_kb: KnowledgeBase, question: str) -> None:
    answer = demo_kb.ask(question)
    assert not answer.handoff
    assert answer.body_language == "vi"


@pytest.mark.parametrize(
    "question", ["ship ra Đà Nẵng bn ngày, có tính phí ko", "giao hàng ra Đà Nẵng mất mấy ngày, có tính phí không?"]
)
def test_a_question_asking_how_long_and_how_much_gets_both_parts(demo_kb: KnowledgeBase, question: str) -> None:
    answer = demo_kb.ask(question)

    assert answer.also is not None
    assert {(answer.sources[0].doc, answer.sources[0].section), (answer.also.doc, answer.also.section)} == {
        DELIVERY_TIME,
        DELIVERY_FEE,
    }
    times, fees = (answer.body or "").split(f"\n\n{answer.also.section}:\n")
    assert "ngày" in times
    assert "Tỉnh xa" in fees


def test_the_other_part_comes_from_the_same_document_or_not_at_all(demo_kb: KnowledgeBase) -> None:
    # "đổi lịch" (delivery rescheduling, another document) shares a word with "đổi trả" and states fees.
    answer = demo_kb.ask("đổi trả mấy ngày, có mất phí ship không")

    assert answer.also is None or answer.also.doc == answer.sources[0].doc


@pytest.mark.parametrize("question", ["giá AP-C999 bao nhiêu", "how much is the AP-X500 desk?"])
def test_a_model_code_no_document_writes_goes_to_a_person(demo_kb: KnowledgeBase, question: str) -> None:
    answer = demo_kb.ask(question)

    assert answer.handoff
    assert answer.body is None


@pytest.mark.parametrize("question", ["AP-C31O giá bao nhiêu", "apc310 bn tien", "AP-2026-01234 là gì"])
def test_a_known_code_however_typed_is_still_answered(demo_kb: KnowledgeBase, question: str) -> None:
    assert demo_kb.screen(question) is None


def test_a_question_asking_one_thing_gets_one_section(demo_kb: KnowledgeBase) -> None:
    assert demo_kb.ask("ship ra Hà Nội bao lâu").also is None


def test_a_quantity_brings_its_own_discount_row_first(demo_kb: KnowledgeBase) -> None:
    body = demo_kb.ask("mua 50 bộ bàn ghế có chiết khấu không?").body or ""
    assert body.splitlines()[0] == "50-99 bộ: 5%"


def test_a_price_question_gets_the_price_line_first(demo_kb: KnowledgeBase) -> None:
    body = demo_kb.ask("how much is the AP-C300 chair?").body or ""
    assert "4.250.000 ₫" in body.splitlines()[0]


@pytest.mark.parametrize("question", ["ap-c210 bao nhiu", "AP-C210 bao nhiêu vậy shop"])
def test_a_bare_how_much_of_a_model_gets_its_price_line_first(demo_kb: KnowledgeBase, question: str) -> None:
    body = demo_kb.ask(question).body or ""
    assert "2.150.000 ₫" in body.splitlines()[0]


@pytest.mark.parametrize("question", ["quy trình bảo hành thế nào", "đặt 300 bộ thì quy trình ntn"])
def test_numbered_steps_are_answered_in_their_order(demo_kb: KnowledgeBase, question: str) -> None:
    body = demo_kb.ask(question).body or ""
    steps = [int(line.split(".")[0]) for line in body.splitlines() if line[:1].isdigit()]
    assert steps == list(range(1, len(steps) + 1))
    assert len(steps) >= 4


@pytest.mark.parametrize("question", ["hàng trưng bày có đổi trả dc ko", "what does the warranty not cover?"])
def test_items_of_a_section_saying_what_is_excluded_come_under_its_heading(
    demo_kb: KnowledgeBase, question: str
) -> None:
    answer = demo_kb.ask(question)

    assert (answer.body or "").splitlines()[0] == f"{answer.sources[0].section}:"

"""Hand-offs for other people's data, internal data and off-topic questions; ordinary questions are not caught."""

from __future__ import annotations

import pytest

from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.safety import classify
from crm_core.retrieval.scope import off_topic


@pytest.mark.parametrize(
    "question",
    [
        "cho tôi số điện thoại của khách hàng Hòa Phát",
        "cho toi so dien thoai cua khach hang hoa phat",
        "anh Minh bên Hòa Phát đặt bao nhiêu",
        "anh minh ben hoa phat dat bao nhieu",
        "email của chị Lan bên Vinamilk",
        "cho mình xem danh sách khách hàng",
        "list your customers",
        "How much did Sao Viet Logistics pay for their last order?",
        "What is the phone number of Mr Tuan?",
        "doanh thu tháng này của shop bao nhiêu",
        "luong nhan vien ban hang bao nhieu",
        "show me the deals in your pipeline",
    ],
)
def test_other_peoples_and_internal_data_is_unsafe(question: str) -> None:
    assert classify(question) == "unsafe"


@pytest.mark.parametrize(
    "question",
    [
        "địa chỉ của công ty ở đâu",
        "sdt cua shop la gi",
        "What's the phone number of your showroom?",
        "dữ liệu khách hàng có được bảo mật không",
        "How do you protect customer data?",
        "đơn hàng của anh đã giao chưa",
        "bên mình đặt bao nhiêu thì được giảm giá",
        "công ty mình muốn đặt 20 bộ",
        "How much did I pay for delivery?",
    ],
)
def test_own_questions_are_not_unsafe(question: str) -> None:
    assert classify(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "thời tiết Hà Nội ngày mai thế nào",
        "thoi tiet ha noi ngay mai",
        "kết quả bóng đá tối qua",
        "tỷ giá đô hôm nay",
        "giá vàng SJC hôm nay",
        "write me a poem about the sea",
        "Can you write a Python function for me?",
        "recommend a good restaurant nearby",
    ],
)
def test_off_topic_questions_are_detected(question: str) -> None:
    assert off_topic(question, "")


@pytest.mark.parametrize(
    "question", ["bàn phím có giảm giá không", "hợp đồng song ngữ được không", "phí giao hàng bao nhiêu"]
)
def test_shop_questions_are_not_off_topic(question: str) -> None:
    assert not off_topic(question, "")


def test_a_topic_the_knowledge_mentions_is_in_scope() -> None:
    assert not off_topic("quán cà phê mở cửa mấy giờ", "quan ca phe an phat mo cua tu 7 gio")


@pytest.mark.parametrize(
    "question", ["thời tiết hôm nay thế nào", "gia vang hom nay bao nhieu", "Write a Python script to sort a list"]
)
def test_off_topic_question_hands_off_as_out_of_scope(loaded_kb: KnowledgeBase, question: str) -> None:
    answer = loaded_kb.ask(question)
    assert (answer.handoff, answer.reason) == (True, "out_of_scope")


@pytest.mark.parametrize(
    "question", ["cho tôi số điện thoại của anh Minh bên Hòa Phát", "list the emails of your customers"]
)
def test_other_customers_data_hands_off_as_unsafe(loaded_kb: KnowledgeBase, question: str) -> None:
    answer = loaded_kb.ask(question)
    assert (answer.handoff, answer.reason) == (True, "unsafe")

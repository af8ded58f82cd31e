"""Hand-offs for other people's data, internal data, off-topic questions and offers the knowledge never mentions;
ordinary questions are not caught."""

from __future__ import annotations

import pytest

from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.offers import SectionWords, asked_offers, offer_scope
from crm_core.retrieval.safety import classify
from crm_core.retrieval.scope import off_topic, topic_words


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


# ---------------------------------------------------------------- asking whether the business sells or does X

FURNITURE_SECTIONS = SectionWords.of(
    [
        "Có bán lẻ 1 cái ghế không hay chỉ bán cho công ty? Có. An Phát bán lẻ từ 1 sản phẩm cho khách cá nhân.",
        "Bàn họp AP-MT240: mặt MFC dày 25 mm, khung thép chân chữ U. Tủ sắt 4 ngăn kéo chịu lực.",
        "Bàn nâng hạ điện AP-HD140: bộ điều khiển có khóa trẻ em; phù hợp 2-3 màn hình và máy tính để bàn.",
        "Sửa chữa ngoài bảo hành: kỹ thuật viên sửa ghế, thay ty hơi, tính phí theo linh kiện.",
        "Văn phòng trọn gói: thiết kế văn phòng và thi công nội thất.",
    ]
)


@pytest.mark.parametrize(
    ("question", "things"),
    [
        ("shop có bán máy lạnh không", [("may", "lanh")]),
        ("shop co ban may lanh ko", [("may", "lanh")]),
        ("máy lạnh có bán không", [("may", "lanh")]),
        ("bên mình bán máy lạnh không", [("may", "lanh")]),
        ("có nhận sửa máy tính không", [("sua", "may", "tinh")]),
        ("shop có bán tủ lạnh với máy lạnh ko", [("tu", "lanh"), ("may", "lanh")]),
        ("có bán ghế cho trẻ em không", [("ghe",)]),
        ("bán lẻ 1 cái ghế không", [("ghe",)]),
        ("do you sell air conditioners?", [("air", "conditioners")]),
        ("Do you repair computers?", [("repair", "computers")]),
        ("Do you offer office relocation services?", [("office", "relocation")]),
    ],
)
def test_the_things_a_question_asks_the_business_to_sell_or_do_are_read(
    question: str, things: list[tuple[str, ...]]
) -> None:
    assert asked_offers(question) == things


@pytest.mark.parametrize(
    "question",
    [
        "có ghế cho trẻ em không",  # no selling word: a question about the chairs themselves
        "giá bán có gồm VAT không",
        "có làm việc chủ nhật không",
        "ghế có làm bằng gỗ không",
        "có bàn họp 10 người không",
        "can you deliver to Hanoi?",
        "bàn mới nhận bị nứt mặt, đổi được không",  # receiving, not taking on work
        "ban moi nhan bi nut mat doi dc ko",  # "ban" typed alone may be "bàn": no offer without "có"
    ],
)
def test_other_questions_ask_no_offer(question: str) -> None:
    assert asked_offers(question) == []


@pytest.mark.parametrize(
    "question",
    [
        "shop có bán máy lạnh không",
        "shop co ban may lanh ko",
        "có nhận sửa máy tính không",  # repairs and computers are both mentioned, never in one section
        "shop có bán tủ lạnh với máy lạnh ko",
        "do you sell sofas?",
    ],
)
def test_an_offer_the_knowledge_never_mentions_is_out_of_scope(question: str) -> None:
    assert offer_scope(question, FURNITURE_SECTIONS) == "out_of_scope"


@pytest.mark.parametrize(
    "question",
    [
        "có bán bàn chân sắt không",
        "có ghế cho trẻ em không",
        "có bán ghế cho trẻ em không",
        "bán lẻ 1 cái ghế không",
        "có nhận sửa ghế văn phòng không",  # "văn phòng" is a word the documents use elsewhere
        "có nhận thiết kế văn phòng không",
        "do you sell chairs?",  # the glossary's "ghế"
        "có bán AP-C999 không",  # a code alone is no thing: the code's own checks answer it
    ],
)
def test_an_offer_the_knowledge_mentions_is_not_declined(question: str) -> None:
    assert offer_scope(question, FURNITURE_SECTIONS) is None


def test_asking_for_a_mentioned_and_an_unmentioned_thing_goes_to_a_person() -> None:
    assert offer_scope("có bán bàn và máy lạnh không", FURNITURE_SECTIONS) == "low_confidence"


def test_a_word_of_several_syllables_the_documents_write_is_read_whole() -> None:
    # "máy tính" and "sửa" share no section, though "sửa" and "tính" (tính phí) do.
    assert not FURNITURE_SECTIONS.mentions(("sua", "may", "tinh"))
    assert FURNITURE_SECTIONS.mentions(("sua", "ghe"))


def test_asked_for_a_product_the_shop_does_not_carry_the_bot_declines(loaded_kb: KnowledgeBase) -> None:
    answer = loaded_kb.ask("shop có bán máy lạnh không")
    assert (answer.handoff, answer.reason) == (True, "out_of_scope")


def test_asked_for_a_product_the_knowledge_names_the_bot_does_not_decline(loaded_kb: KnowledgeBase) -> None:
    assert loaded_kb.ask("có bán máy lọc nước không").reason != "out_of_scope"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        # Typed with marks: only the listed spelling is a function word ("thế", "bạn", "mấy", "đã" are; the card,
        # the desk, the machine and leather are not).
        ("thanh toán bằng thẻ được không", {"thanh", "toan", "bang", "the"}),
        ("bàn này bạn có màu đen không", {"ban", "mau", "den"}),
        ("máy lọc nước mấy tháng thay lõi", {"may", "loc", "nuoc", "thang", "thay", "loi"}),
        ("ghế bọc da bị hỏng ko shop", {"ghe", "boc", "da", "hong"}),
        # Typed without marks: a word any listed word folds to is one ("ban" may be "bạn").
        ("ban nay co mau den khong", {"mau"}),
        ("What is the price of the chair", {"price", "chair"}),
    ],
)
def test_function_words_are_judged_as_typed(text: str, topic: set[str]) -> None:
    assert set(topic_words(text)) == topic

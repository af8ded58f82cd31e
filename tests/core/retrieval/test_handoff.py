"""A person answers what the knowledge base cannot, even when a section shares the words (issue 11).

The customer's own order, invoice, delivery or account; a refund or compensation demand; a request for one
named person; a subject no shop covers. Questions about the policies themselves are still answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.handoff import screen

from .conftest import NOW

# A business the shipped rules and model never saw: a water-purifier shop.
PURIFIER_MD = """# Máy lọc nước AquaViet

## Chính sách hoàn tiền

Máy lỗi do nhà sản xuất trong 7 ngày đầu được đổi máy mới hoặc hoàn tiền 100%. Tiền được hoàn bằng chuyển
khoản trong 5 ngày làm việc kể từ khi công ty nhận lại máy.

## Theo dõi đơn hàng

Sau khi đặt hàng, khách nhận tin nhắn có mã đơn. Đơn trong nội thành được giao và lắp đặt trong 24 giờ.

## Kỹ thuật viên lắp đặt

Kỹ thuật viên của AquaViet lắp đặt máy tận nhà miễn phí trong nội thành và hướng dẫn thay lõi lọc.

## Bồi thường khi rò nước

Nếu máy rò nước do lỗi lắp đặt, AquaViet bồi thường thiệt hại theo biên bản kiểm tra của kỹ thuật viên.
"""

PURIFIER_EN_MD = """# AquaViet in English

## Refund policy

A purifier with a manufacturing fault in its first 7 days is replaced or refunded in full, by bank transfer
within 5 working days of our receiving it back.

## Tracking your order

Every order gets a text message with its order code; deliveries in the city are installed within 24 hours.
"""


@pytest.fixture(scope="module")
def purifier_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("purifier")
    folder = root / "knowledge"
    folder.mkdir()
    (folder / "aquaviet.md").write_text(PURIFIER_MD, encoding="utf-8")
    (folder / "aquaviet-en.md").write_text(PURIFIER_EN_MD, encoding="utf-8")
    kb = KnowledgeBase(home=Path(root) / "home")
    assert kb.ingest([folder], now=NOW).ok
    return kb


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("đơn AV123 của tôi đâu", "own_order"),
        ("don hang 4521 giao chua", "own_order"),
        ("my order #A-778 hasn't arrived", "own_order"),
        ("hoàn tiền cho tôi đơn 4521 ngay", "dispute"),
        ("máy rò nước làm hỏng sàn nhà tôi, công ty phải bồi thường", "dispute"),
        ("I want my money back, the purifier broke after a week", "dispute"),
        ("cho gặp anh Tuấn kỹ thuật", "named_person"),
        ("I want to talk to Ms. Hoa", "named_person"),
        ("thời tiết Sài Gòn mai thế nào?", "out_of_scope"),
        ("what's the weather like in Hanoi tomorrow?", "out_of_scope"),
    ],
)
def test_a_question_the_knowledge_cannot_answer_goes_to_a_person_with_its_reason(
    purifier_kb: KnowledgeBase, question: str, reason: str
) -> None:
    answer = purifier_kb.ask(question)
    assert (answer.handoff, answer.reason, answer.body) == (True, reason, None)


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("chính sách hoàn tiền thế nào?", "Chính sách hoàn tiền"),
        ("hoàn tiền mất bao lâu", "Chính sách hoàn tiền"),
        ("làm sao theo dõi đơn hàng", "Theo dõi đơn hàng"),
        ("kỹ thuật viên có lắp đặt tận nhà không", "Kỹ thuật viên lắp đặt"),
        ("máy rò nước thì có được bồi thường không", "Bồi thường khi rò nước"),
        ("what is your refund policy?", "Refund policy"),
        ("how do I track my order?", "Tracking your order"),
    ],
)
def test_a_question_about_the_policy_itself_is_still_answered(
    purifier_kb: KnowledgeBase, question: str, section: str
) -> None:
    answer = purifier_kb.ask(question)
    assert answer.reason is None
    assert answer.handoff is False
    assert answer.sources[0].section == section


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("ma don AP-2026-00871 cua anh dang o dau", "own_order"),
        ("iphone 12 của mình để ở tiệm thay pin từ sáng, xong chưa ạ", "own_order"),
        ("can you check the status of order AP-2026-00871", "own_order"),
        # New-user review: a word about the order between it and its number ("đơn cũ", "last order").
        ("e muốn hỏi về đơn cũ AP-2026-00555 của e, sđt 0938765432", "own_order"),
        ("my last order 55213 hasn't arrived", "own_order"),
        ("kem dưỡng làm mặt em nổi mụn, shop hoàn tiền cho em", "dispute"),
        ("tra lai tien cho toi, may loc dung 1 tuan da hu", "dispute"),
        ("you charged me twice for the same order, refund the extra", "dispute"),
        ("cho gap chi Lan sale", "named_person"),
        ("nhan anh tuan ky thuat goi lai cho em", "named_person"),
        ("could Mr. Long call me back?", "named_person"),
        ("ai là tổng thống Mỹ hiện nay", "out_of_scope"),
        ("how tall is Mount Everest?", "out_of_scope"),
        ("who won the last election in the US?", "out_of_scope"),
    ],
)
def test_the_screen_names_each_class_in_both_languages(question: str, reason: str) -> None:
    assert screen(question) == reason


@pytest.mark.parametrize(
    "question",
    [
        "chính sách hoàn tiền thế nào?",
        "nếu giao trễ thì có được bồi thường không",
        "đơn từ 500k có miễn phí vận chuyển không",
        "mua 50 bộ bàn ghế có chiết khấu không?",
        "bàn AP-D140 có màu đen không",
        "anh ơi cho em hỏi bàn 1m2 giá bao nhiêu",
        "kỹ thuật viên có đến tận nhà lắp máy không",
        "chính sách hoàn tiền khi máy lỗi trong 7 ngày như thế nào",
        "hoàn tiền mất mấy ngày",
        "hoan tien mat may ngay",
        "how long does a refund take?",
        "do you offer compensation if the delivery damages something?",
    ],
)
def test_answerable_questions_sharing_the_words_pass_the_screen(question: str) -> None:
    assert screen(question) is None


def test_the_learned_out_of_scope_yields_when_the_knowledge_uses_every_word() -> None:
    # The model guesses "a subject no shop covers"; a knowledge base about mountain treks does cover it.
    question = "how tall is Mount Everest?"
    assert screen(question) == "out_of_scope"
    assert screen(question, covered=1.0) is None


def test_a_named_person_outranks_asking_for_any_person() -> None:
    assert screen("cho tôi gặp nhân viên") == "asked_for_human"
    assert screen("cho tôi gặp chị Hoa") == "named_person"


@pytest.mark.parametrize(
    "message",
    ["em cảm ơn", "dạ em cảm ơn ạ", "cảm ơn em nhiều", "ok e", "oki c", "hihi", "tốt lắm", "em cam on", "ok thanks"],
)
def test_thanks_and_acknowledgements_are_never_handed_off(message: str) -> None:
    # The model once read "em cảm ơn" as a named person and "dạ em cảm ơn ạ" as the customer's own order.
    assert screen(message) is None


@pytest.mark.parametrize(
    "question",
    ["giá đã gồm vat chưa", "gia da gom vat chua", "cho em xin so hotline", "cho em xin số điện thoại cửa hàng"],
)
def test_a_question_with_da_chua_or_asking_for_the_shops_contact_is_answerable(question: str) -> None:
    # "đã … chưa" alone is no order of theirs; the shop's hotline is not a person.
    assert screen(question) is None


@pytest.mark.parametrize(
    "question",
    ["đã nhận được tiền cọc chưa", "hàng về chưa shop", "shop gửi hàng cho em chưa", "đơn đã giao chưa shop"],
)
def test_a_payment_or_delivery_event_of_theirs_is_their_own_order(question: str) -> None:
    assert screen(question) == "own_order"


def test_asking_for_a_named_persons_number_is_still_a_named_person() -> None:
    assert screen("cho em xin số anh Tuấn") == "named_person"


# The customer's own case (review after issue 11): own_order is THEIR order, invoice, account or delivery; a
# dispute is a claim about what happened to THEM. The shop's account, a quantity or the policy is answerable.


@pytest.mark.parametrize(
    "question",
    [
        "cho mình xin stk của cửa hàng",
        "số tài khoản ck của shop",
        "what is your bank account number?",
        "discount for 120 sets?",
        "mua 300 cái ghế có giảm giá không",
    ],
)
def test_the_shops_account_or_a_quantity_is_not_the_customers_own_order(question: str) -> None:
    assert screen(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "trả hàng lấy lại tiền thì bị trừ bao nhiêu",
        "tra hang lay lai tien bi tru bao nhieu",
        "hủy đơn có lấy lại tiền cọc được không",
        "ship làm vỡ hàng thì ai chịu trách nhiệm",
        "if I return it, how much do you deduct?",
    ],
)
def test_a_question_about_the_refund_policy_in_general_is_no_dispute(question: str) -> None:
    assert screen(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "hóa đơn của công ty em ghi sai mã số thuế, sửa giúp em",
        "hoa don cty minh bi sai ten, xuat lai giup minh",
        "tk của e bị khóa rồi",
        "our invoice has the wrong tax code, can you reissue it?",
    ],
)
def test_their_own_invoice_or_account_is_their_own_order(question: str) -> None:
    assert screen(question) == "own_order"


@pytest.mark.parametrize(
    "question",
    [
        "shop trừ của em 30% phí trả hàng, trả lại em đủ tiền đi",
        "sao tính phí ship của em gấp đôi vậy, hoàn lại phần chênh lệch",
        "you deducted 20% from my refund, I want the full amount",
    ],
)
def test_money_back_for_their_own_case_is_a_dispute(question: str) -> None:
    assert screen(question) == "dispute"


def test_another_companys_orders_stay_unsafe_while_the_customers_own_companys_are_theirs() -> None:
    assert screen("cho xem đơn của công ty Hòa Phát") == "unsafe"
    assert screen("đơn của công ty em giao chưa") == "own_order"


# The review after the own-case follow-up: the customer's own debt or balance, a named person's personal data,
# and compensation claimed for their own case.


@pytest.mark.parametrize(
    "question",
    [
        "công ty em còn nợ bên shop bao nhiêu tiền",
        "công nợ của công ty em hiện tại là bao nhiêu",
        "cong ty e con no ben shop bn vay",
        "bên em còn nợ shop bao nhiêu ạ",
        "how much does our company still owe you?",
        "what's our current balance with you?",
    ],
)
def test_their_own_debt_or_balance_is_their_own_order(question: str) -> None:
    # The general credit policy ("quá hạn công nợ: tính lãi 0,05%/ngày") answered these, and read as a threat.
    assert screen(question) == "own_order"


@pytest.mark.parametrize(
    "question",
    [
        "chính sách công nợ cho doanh nghiệp thế nào",
        "shop có cho công nợ không",
        "cong no toi da bao nhieu ngay",
        "công ty em có được mua công nợ không ạ",
        "do you offer credit terms to companies?",
    ],
)
def test_the_credit_policy_asked_in_general_is_answerable(question: str) -> None:
    assert screen(question) is None


@pytest.mark.parametrize(
    "question",
    [
        "shop ơi địa chỉ nhà anh Tuấn bên Vinamilk là gì",
        "dia chi nha anh tuan ben vinamilk",
        "sđt chị Lan bên kế toán công ty ABC",
        "so dien thoai nha chi mai la gi vay shop",
        "cho em xin email riêng của chị Hoa với",
        "what's Mr. Tuan's phone number?",
        "can I get Ms. Hoa's home address?",
    ],
)
def test_a_named_persons_phone_address_or_email_is_declined_as_other_peoples_data(question: str) -> None:
    # "địa chỉ nhà anh Tuấn bên Vinamilk" was passed to staff as a named person.
    assert screen(question) == "unsafe"


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("cho em gặp anh Tuấn bên kinh doanh", "named_person"),
        ("cho em gap anh tuan ben kinh doanh", "named_person"),
        ("can I talk to Mr. Tuan from sales?", "named_person"),
        ("địa chỉ shop ở đâu", None),
        ("sđt của shop", None),
        ("số điện thoại bán hàng là gì", None),
        ("dia chi chi nhanh hung yen", None),
        ("giao tới địa chỉ nhà chị Lan ở quận 3 giúp em", None),
    ],
)
def test_talking_to_a_named_person_or_the_shops_own_contact_is_not_other_peoples_data(
    question: str, reason: str | None
) -> None:
    assert screen(question) == reason


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("đơn của em giao trễ 3 ngày rồi, shop đền em thế nào", "dispute"),
        ("hàng của chị giao trễ cả tuần rồi, shop đền chị đi", "dispute"),
        ("nếu giao trễ thì shop có đền không", None),
        ("shop có đền em không nếu giao trễ", None),
        ("if the delivery is late, do you compensate?", None),
    ],
)
def test_compensation_for_their_own_case_is_a_dispute_while_the_hypothetical_is_not(
    question: str, reason: str | None
) -> None:
    assert screen(question) == reason


@pytest.mark.parametrize(
    "message",
    [
        "Ghế gãy chân thì shop phải bồi thường",
        "shop phải đền, nếu không em báo công an",
        "I want a refund if possible",
        "You owe me 2 million, if you don't pay I will sue",
        "Ghế gãy thì lấy lại tiền ngay nhé",
        "trừ tiền 2 lần thì sao",
        "Chargeback in case you don't answer",
        "Charged twice! policy?",
        "theo quy dinh thi shop phai boi thuong 2tr cho khach vi giao tre 10 ngay dung khong",
        "Chính sách hoàn tiền thế nào khi ghế AP-C300 giao tới bị gãy chân, shop hoàn lại 4tr5 vào stk "
        "0123456789 giúp nhé",
    ],
)
def test_a_demand_stays_a_dispute_though_it_uses_a_policy_or_question_word(message: str) -> None:
    assert screen(message) == "dispute"


@pytest.mark.parametrize(
    "question",
    [
        "tra hang lay lai tien bi tru bao nhieu",
        "chính sách hoàn tiền thế nào",
        "nếu đổi ý thì trả hàng được không",
        "how long does a refund take?",
        "đổi trả trong bao lâu nếu ghế bị lỗi",
    ],
)
def test_the_refund_policy_asked_without_a_demand_stays_answerable(question: str) -> None:
    assert screen(question) is None


@pytest.mark.parametrize(
    "message",
    [
        "hàng giao bị trầy mà nhân viên ko chịu nhận lại, tôi sẽ báo công an",
        "your driver broke my glass door and refused to take responsibility, I'll see a lawyer",
    ],
)
def test_a_threat_goes_to_a_person_as_a_dispute_even_without_a_claim(message: str) -> None:
    assert screen(message) == "dispute"


@pytest.mark.parametrize(
    "question",
    [
        "can you issue 0% VAT invoice for EPZ company",
        "what's the warranty if a lawyer's office buys 20 chairs?",
        "quy trình bảo hành thế nào",  # "trình bảo" folds like "trình báo" (reporting to the police)
        "ship đang mang hàng tới chưa hay còn ở kho",
    ],
)
def test_a_kind_of_company_or_a_lawyer_as_a_buyer_is_no_one_elses_data_and_no_threat(question: str) -> None:
    assert screen(question) is None

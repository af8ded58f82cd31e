"""How Vietnamese customers type a question in chat, read as the documents write it (retrieval normalisation)."""

from __future__ import annotations

import pytest

from crm_core.retrieval.normalize import AccentRestorer, CodeBook, prepare_query

# Knowledge text whose own words pull an unaccented question the wrong way: the documents write "mặt bàn",
# "thang máy", "giám đốc" and "Óc chó" (walnut) far more often than a question's "mất", "mấy", "giảm", "chỗ".
KNOWLEDGE = [
    "Mặt bàn gỗ MFC. Mặt bàn dày 25 mm. Mặt bàn chống ẩm. Nhà không có thang máy. Máy POS tại showroom.",
    "Bàn giám đốc AP-E180. Ghế giám đốc AP-C500. Phòng giám đốc. Giám đốc dự án.",
    "Màu: Trắng, Vân sồi, Óc chó.\nGiá niêm yết: 1.850.000 ₫/cái. Cụm 2 chỗ. Màu Óc chó.\nGiá lẻ 650.000 ₫.",
    "Bảo hành động cơ 5 năm. Bàn nâng hạ 1 động cơ, 2 động cơ. Bàn AP-D140 có mấy màu?",
    "Giao hàng từ 8:00 đến 17:30, thứ Hai đến thứ Bảy. Chủ nhật lắp đặt phụ phí 20%.",
]


@pytest.fixture(scope="module")
def restorer() -> AccentRestorer:
    learnt = AccentRestorer()
    learnt.learn(KNOWLEDGE)
    return learnt


def _normalized(question: str, restorer: AccentRestorer) -> str:
    return prepare_query(question, restorer).normalized


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("t6 này giao dc ko a/c", "thứ Sáu này giao được không anh chị"),
        ("t7 có giao hàng ko", "thứ Bảy có giao hàng không"),
        ("thứ 2 có giao không", "thứ Hai có giao không"),
        ("cn lắp đặt đc ko", "chủ nhật lắp đặt được không"),
        ("t2-t7 giao ko", "thứ hai-thứ bảy giao không"),  # unaccented: restored, "hai" not "hải"
        ("mã AP-T2 giá bao nhiêu", "mã AP-T2 giá bao nhiêu"),  # a model code's tail is no day
    ],
)
def test_days_and_chat_words_are_written_as_the_documents_do(
    question: str, expected: str, restorer: AccentRestorer
) -> None:
    assert _normalized(question, restorer) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("co giao ra ha noi ko, mat may ngay", "có giao ra hà nội không, mất mấy ngày"),
        ("mua 120 bo thi giam may %", "mua 120 bộ thì giảm mấy phần trăm"),
        ("hoan tien mat bao lau", "hoàn tiền mất bao lâu"),
    ],
)
def test_accents_follow_how_customers_ask_not_the_documents_most_frequent_word(
    question: str, expected: str, restorer: AccentRestorer
) -> None:
    # The documents write "mặt", "máy", "giám" more often; a question asks "mất mấy ngày", "giảm mấy %".
    assert _normalized(question, restorer) == expected


def test_the_words_an_abbreviation_spells_are_kept_as_spelled(restorer: AccentRestorer) -> None:
    # "e" is "em", "bn" is "bao nhiêu": the restorer must not make them "êm" or "bảo nhiêu".
    assert _normalized("nha e o q7, lam lai het bn tien", restorer) == "nhà em ở quận 7, làm lại hết bao nhiêu tiền"


def test_a_unit_after_a_number_or_how_many_is_no_abbreviation(restorer: AccentRestorer) -> None:
    # "kg" is an abbreviation of "không" elsewhere; after "bao nhiêu" it is kilograms.
    assert _normalized("ghe c300 chiu tai bao nhieu kg", restorer).endswith("bao nhiêu kg")
    assert _normalized("tu sat chiu dc 30 kg ko", restorer).endswith("30 kg không")


def test_a_phrase_of_the_documents_does_not_run_across_punctuation(restorer: AccentRestorer) -> None:
    # "Óc chó.\nGiá niêm yết" is no phrase "chó giá": a customer's "2 cho gia" is "2 chỗ giá".
    phrases, _ = restorer.tables()
    assert ("cho", "gia") not in phrases
    assert phrases[("oc", "cho")][0] == "óc chó"
    assert _normalized("cum 2 cho gia bn", restorer) == "cụm 2 chỗ giá bao nhiêu"


def test_overlapping_phrases_both_count(restorer: AccentRestorer) -> None:
    # "bảo hành động (cơ)" and "động cơ" overlap; reading left to right took "bảo hành động" then "có mấy".
    assert _normalized("ban nang ha bao hanh dong co may nam", restorer).endswith("động cơ mấy năm")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("shop mở cửa tới 17h30 ko", "shop mở cửa tới 17:30 không"),
        ("giao trong 48h ko", "giao trong 48 giờ không"),
        ("giao q.7 mất phí ko", "giao quận 7 mất phí không"),
        ("tầm 1.5tr có ghế nào", "tầm 1.500.000 có ghế nào"),
    ],
)
def test_hours_districts_and_decimal_amounts(question: str, expected: str, restorer: AccentRestorer) -> None:
    assert _normalized(question, restorer) == expected


def test_an_amount_typed_in_chat_is_a_budget_that_finds_the_prices_near_it(restorer: AccentRestorer) -> None:
    book = CodeBook.of([*KNOWLEDGE, "Cụm 6 chỗ: 1.900.000 ₫/chỗ. Bàn AP-D160: 2.450.000 ₫."])
    query = prepare_query("1tr9 có bàn nào ko", restorer, codes=book)
    assert "1.900.000" in query.normalized
    tokens = query.lexical_tokens()
    assert "1900000" in tokens  # the amount typed
    assert "1850000" in tokens  # a price the documents write within 50.000 ₫ of it
    assert "2450000" not in tokens


def test_a_round_budget_is_read_within_five_percent() -> None:
    book = CodeBook.of(["Giá 1.850.000 ₫, 2.050.000 ₫ và 2.450.000 ₫."])
    assert book.amounts_near(2_000_000, 0.05) == [2_050_000]  # not everything within 500.000 ₫ of "2tr"


@pytest.mark.parametrize(
    "question",
    [
        "Do you deliver on Sundays at 8h?",
        "Is delivery free to Q1?",
        "How much is a desk for 1tr9?",
        "Can I check the order size?",
    ],
)
def test_english_questions_are_left_as_typed(question: str, restorer: AccentRestorer) -> None:
    query = prepare_query(question, restorer, codes=CodeBook.of(KNOWLEDGE))
    assert query.language == "en"
    assert query.normalized == prepare_query(question, AccentRestorer()).normalized
    assert query.amounts == ()

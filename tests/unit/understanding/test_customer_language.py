"""Which language a customer's message is written in, when its letters decide it."""

from __future__ import annotations

import pytest

from crm_core.understanding.customer_intent import decided_language

# Ordinary English questions that name an app, a wallet, a bank or a shop: their other words are English.
ENGLISH_WITH_BRANDS = [
    "do you accept momo?",
    "can I pay with Visa card",
    "what is your zalo",
    "is there a zalo group for orders",
    "can I pay by momo when the chair arrives",
    "send the invoice to my gmail please",
    "do you sell on shopee or lazada",
    "is the price on tiki the same",
    "my grab driver cannot find your store",
    "I sent the payment via vnpay, please check",
    "which banks do you accept for transfer, vietcombank?",
    "can you send me the link on facebook messenger",
    "do you have a tiktok shop",
    "I paid with mastercard but got no receipt",
    "where can I find your fanpage",
    "is there a voucher code for new customers",
]

# Unaccented Vietnamese naming the same things.
VIETNAMESE_WITH_BRANDS = [
    "co nhan momo ko",
    "tra bang visa dc ko",
    "zalo shop la gi",
    "ck qua vcb dc k shop",
    "shop co ban tren shopee ko",
    "gui link fb cho e voi",
    "thanh toan zalopay dc khong",
    "e da chuyen momo roi nha",
    "check giup e don hang voi",
    "co voucher ko shop",
    "tiki co ban ghe nay k",
    "grab den lay hang dc ko",
    "tk vietcombank cua shop la gi",
    "quet ma vietqr bi loi",
    "cho e xin link fanpage",
    "tra gop qua the visa dc ko",
]


@pytest.mark.parametrize(("text", "language"), [
    ("bảo hành bao lâu?", "vi"),
    ("bao hanh bao lau", "vi"),
    ("How long is the warranty?", "en"),
    ("ship ra Đà Nẵng bao lâu", "vi"),
    ("Do you ship to Hanoi?", "en"),
])
def test_a_message_with_deciding_words_has_their_language(text: str, language: str) -> None:
    assert decided_language(text) == language


@pytest.mark.parametrize("text", ENGLISH_WITH_BRANDS)
def test_an_english_question_naming_an_app_wallet_bank_or_shop_is_english(text: str) -> None:
    assert decided_language(text) == "en"


@pytest.mark.parametrize("text", VIETNAMESE_WITH_BRANDS)
def test_unaccented_vietnamese_naming_an_app_wallet_bank_or_shop_is_vietnamese(text: str) -> None:
    assert decided_language(text) == "vi"


@pytest.mark.parametrize("text", ["ship?", "ok", "5", "shipper", "AP-C300?", "ap c300 ??"])
def test_loanwords_digits_and_small_talk_alone_decide_no_language(text: str) -> None:
    assert decided_language(text) is None


@pytest.mark.parametrize("text", [
    "zalo/momo 0912345678",
    "momo 0912345678 nhe",
    "momo",
    "visa?",
    "zalo 0912345678",
    "visa/master ok?",
    "vcb 0123456789",
    "link fb?",
    "ok momo",
    "check",
])
def test_app_wallet_and_bank_names_with_digits_and_small_talk_decide_no_language(text: str) -> None:
    assert decided_language(text) is None


@pytest.mark.parametrize(("text", "language"), [("co ko", "vi"), ("dc ko", "vi"), ("c300 la gi", "vi"),
                                                ("master card dc ko", "vi")])
def test_short_words_decide_vietnamese_when_no_longer_word_does(text: str, language: str) -> None:
    assert decided_language(text) == language


@pytest.mark.parametrize("text", ["dh", "xl nhe", "pk", "sp xl", "is it ok"])
def test_short_words_never_decide_english(text: str) -> None:
    # Vietnamese chat abbreviations no list holds ("dh" đơn hàng, "pk" phụ kiện) read as no language, and the
    # customer's known one answers; two-letter English is too often the same letters.
    assert decided_language(text) is None

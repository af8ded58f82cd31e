"""Odd input never raises: unknown fields are null and `unreadable` says what could not be read."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm_core.understanding import parse_log

CONTRACT_KEYS = {
    "kind",
    "contact",
    "company",
    "amount",
    "currency",
    "quantity",
    "next_step",
    "due",
    "due_options",
    "occurred_on",
    "dates",
    "stage",
    "phone",
    "email",
    "language",
}


def test_empty_text_gives_a_card_of_nulls(now: datetime) -> None:
    contract = parse_log("", now=now).to_contract()
    assert all(contract[k] is None for k in ("contact", "company", "amount", "currency", "due"))


def test_emoji_only_input_is_unreadable_text(now: datetime) -> None:
    parsed = parse_log("😀🎉👍", now=now)
    assert parsed.contact is None
    assert "text" in parsed.unreadable


def test_10000_character_input_is_parsed(now: datetime) -> None:
    parsed = parse_log("gọi a Minh bên Hòa Phát, chốt 500tr. " + "blah " * 2000, now=now)
    assert parsed.amount is not None
    assert parsed.contact == "Minh"


def test_only_numbers_is_not_an_error(now: datetime) -> None:
    assert parse_log("1234567 89 0", now=now).contact is None


def test_mixed_scripts_do_not_break_parsing(now: datetime) -> None:
    assert parse_log("Встреча с 田中 gọi a Minh 500tr", now=now).amount is not None


@pytest.mark.parametrize(
    "text", ["31/2", "99/99/9999", "ngày 45", "$", "đ", "tỷ tỷ tỷ", "\x00\x01", "((((", "1e999999"]
)
def test_garbage_never_raises(now: datetime, text: str) -> None:
    assert parse_log(text, now=now).raw_text == text


def test_contract_has_exactly_the_documented_keys_and_more(now: datetime) -> None:
    assert set(parse_log("gọi a Minh", now=now).to_contract()) >= CONTRACT_KEYS


def test_language_is_detected(now: datetime) -> None:
    assert parse_log("gọi a Minh mai gửi báo giá", now=now).language == "vi"
    assert parse_log("Called John, send the quote tomorrow", now=now).language == "en"

"""Money: Vietnamese units and number words, symbols, codes, quantity × unit price."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from crm_core.understanding import parse_amount_text, parse_log


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("500 triệu", Decimal(500_000_000), "VND"),
        ("500tr", Decimal(500_000_000), "VND"),
        ("1,2 tỷ", Decimal(1_200_000_000), "VND"),
        ("2 tỷ 300 triệu", Decimal(2_300_000_000), "VND"),
        ("4.500.000đ", Decimal(4_500_000), "VND"),
        ("50k", Decimal(50_000), "VND"),
        ("năm mươi triệu", Decimal(50_000_000), "VND"),
        ("một tỷ rưỡi", Decimal(1_500_000_000), "VND"),
        ("1tr5", Decimal(1_500_000), "VND"),
    ],
)
def test_vietnamese_amounts(text: str, amount: Decimal, currency: str) -> None:
    assert parse_amount_text(text, "vi") == (amount, currency)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("$40", Decimal(40), "USD"),
        ("25,000 EUR", Decimal(25_000), "EUR"),
        ("1.5M USD", Decimal(1_500_000), "USD"),
        ("€250k", Decimal(250_000), "EUR"),
        ("£9", Decimal(9), "GBP"),
    ],
)
def test_english_amounts(text: str, amount: Decimal, currency: str) -> None:
    assert parse_amount_text(text, "en") == (amount, currency)


def test_quantity_times_unit_price(now: datetime) -> None:
    parsed = parse_log("Called John at Acme, 50 licenses at $40 each", now=now)
    assert (parsed.amount, parsed.currency, parsed.quantity, parsed.unit_price) == (Decimal(2000), "USD", 50, 40)


def test_vietnamese_quantity_times_price_per_unit(now: datetime) -> None:
    parsed = parse_log("c Trang lấy 120 bộ đồng phục x 350k", now=now)
    assert parsed.amount == Decimal(42_000_000)
    assert parsed.quantity == 120


def test_vnd_is_the_default_in_vietnamese_messages(now: datetime) -> None:
    assert parse_log("chốt 96tr", now=now).currency == "VND"


def test_currency_is_null_when_amount_is_null(now: datetime) -> None:
    contract = parse_log("gọi a Minh", now=now).to_contract()
    assert contract["amount"] is None
    assert contract["currency"] is None


def test_amount_is_a_whole_json_number(now: datetime) -> None:
    assert parse_log("báo giá 1,2 tỷ", now=now).to_contract()["amount"] == 1_200_000_000


def test_phone_number_is_not_money(now: datetime) -> None:
    assert parse_log("sđt 0912345678", now=now).amount is None


def test_overflowing_amount_is_unreadable_not_an_error(now: datetime) -> None:
    parsed = parse_log("báo giá 99999999999999999999999999 tỷ", now=now)
    assert parsed.amount is None
    assert "amount" in parsed.unreadable


def test_parse_amount_text_returns_none_without_an_amount() -> None:
    assert parse_amount_text("không biết", "vi") is None


def test_the_digits_of_a_model_code_are_not_a_quantity(now: datetime) -> None:
    parsed = parse_log("Met John at Acme, wants 30 AP-C300 chairs at 4.5tr each", now=now)
    assert parsed.quantity == 30
    assert parsed.amount == Decimal("135000000")


def test_a_total_price_is_not_multiplied_by_the_quantity(now: datetime) -> None:
    parsed = parse_log("Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu", now=now)
    assert parsed.quantity == 200
    assert parsed.amount == Decimal("500000000")

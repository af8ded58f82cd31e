"""Amounts are shown in the currency's own units: whole đồng, dollars and cents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.format import money
from crm_core.money import minor_digits, rounded


def test_vnd_has_no_minor_unit_and_usd_has_cents() -> None:
    assert (minor_digits("VND"), minor_digits("vnd"), minor_digits(None), minor_digits("USD")) == (0, 0, 0, 2)


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("566901611.19", "VND", "566901611"),
    ("566901611.50", "VND", "566901612"),
    ("-0.5", "VND", "-1"),
    ("12.345", "USD", "12.35"),
    ("8000", "USD", "8000.00"),
])
def test_an_amount_is_rounded_to_its_currencys_smallest_unit(amount: str, currency: str, expected: str) -> None:
    assert rounded(Decimal(amount), currency) == Decimal(expected)


@pytest.mark.parametrize(("language", "expected"), [("vi", "566.901.611 ₫"), ("en", "₫566,901,611")])
def test_a_forecast_in_vnd_is_shown_in_whole_dong(language: str, expected: str) -> None:
    assert money(Decimal("566901611.19"), "VND", language) == expected


@pytest.mark.parametrize(("amount", "language", "expected"), [
    ("12.3", "vi", "12,30 US$"), ("12.345", "en", "$12.35"), ("1200", "en", "$1,200"), ("1200", "vi", "1.200 US$"),
])
def test_dollars_show_cents_only_when_there_are_some(amount: str, language: str, expected: str) -> None:
    assert money(Decimal(amount), "USD", language) == expected

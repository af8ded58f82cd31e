"""Amounts rounded the way each currency is counted: whole đồng (VND has no minor unit), cents for USD.

The digits come from CLDR (Babel's currency data), so a currency we never listed is rounded right too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision

DEFAULT_CURRENCY = "VND"


def minor_digits(currency: str | None) -> int:
    """Return how many decimals `currency` is counted in (VND 0, USD 2; an unknown code 2)."""
    return get_currency_precision((currency or DEFAULT_CURRENCY).upper())


def rounded(amount: Decimal, currency: str | None) -> Decimal:
    """Round `amount` (major units) to `currency`'s smallest unit, halves away from zero."""
    return amount.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)

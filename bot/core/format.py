"""Numbers and dates the way the user reads them (Babel's locale data)."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from crm_core.money import minor_digits, rounded

_LOCALE = {"vi": "vi_VN", "en": "en_US"}


def money(amount: Decimal | None, currency: str | None, language: str) -> str:
    """Format `amount` like `1.200.000.000 ₫` in Vietnamese or `$1,200` in English."""
    if amount is None:
        return "—"
    code = (currency or "VND").upper()
    locale = _LOCALE.get(language, "vi_VN")
    # A forecast (amount × a win rate) has fractions a currency may not have: VND is counted in whole đồng.
    amount = rounded(amount, code)
    whole = amount == amount.to_integral_value()
    number = "#,##0" if whole else "#,##0." + "0" * minor_digits(code)
    pattern = f"{number} ¤" if language == "vi" else f"¤{number}"
    try:
        return format_currency(amount, code, format=pattern, locale=locale, currency_digits=False)
    except (ValueError, KeyError):
        return f"{format_decimal(amount, locale=locale)} {code}"


def money_totals(totals: dict[str, Decimal], language: str) -> str:
    """Format totals per currency, joined."""
    if not totals:
        return "—"
    return " + ".join(money(value, code, language) for code, value in sorted(totals.items()))


def day(value: date, language: str, *, today: date | None = None) -> str:
    """Format a date as `27/11` (vi) or `Nov 27` (en), with the year when it differs."""
    same_year = today is None or value.year == today.year
    if language == "vi":
        return format_date(value, "dd/MM" if same_year else "dd/MM/yyyy", locale="vi_VN")
    return format_date(value, "MMM d" if same_year else "MMM d, yyyy", locale="en_US")


def weekday_day(value: date, language: str, *, today: date | None = None) -> str:
    """Format a date with its weekday: `T6 27/11` or `Fri Nov 27`."""
    if language == "vi":
        names = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
        return f"{names[value.weekday()]} {day(value, language, today=today)}"
    return f"{format_date(value, 'EEE', locale='en_US')} {day(value, language, today=today)}"


def moment(value: datetime, language: str, tz: tzinfo, *, today: date | None = None) -> str:
    """Format a time as `T6 27/11 09:00` in the business time zone."""
    local = value.astimezone(tz)
    return f"{weekday_day(local.date(), language, today=today)} {local:%H:%M}"


def clip(text: str, limit: int) -> str:
    """Shorten `text` to `limit` characters on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def clip_lines(text: str, limit: int = 4000) -> str:
    """Keep a multi-line text under `limit` characters, cutting at a line end."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return cut[: cut.rfind("\n")] + "\n…" if "\n" in cut else cut + "…"


def inner(text: str) -> str:
    """A name or a phrase set inside «…»: its own «» become “”, so quotes never nest as «…«…»…»."""
    return text.replace("«", "“").replace("»", "”")

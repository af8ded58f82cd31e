"""Cell values as people type them: dates, amounts, phones, booleans, roles, statuses, stages (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crm_core.markers import ERASED
from crm_core.services.search import national_digits
from crm_core.textnorm import clean_name, clean_text, fold
from crm_core.understanding import parse_amount_text
from crm_core.understanding.classify import kind_from_text
from crm_core.understanding.entities import find_email, find_phone

_DATA = Path(__file__).resolve().parent / "data"
# Excel's day 1 is 1900-01-01; serials this side of year 2200 are dates, anything else is a typo.
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serials count local days; the zone comes later
_MAX_SERIAL = 110_000
_DMY_RE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?:[ T,]+(\d{1,2})[:hH](\d{2})?(?::(\d{2}))?)?\s*"
                     r"(am|pm|sa|ch)?")
_BARE_NUMBER_RE = re.compile(r"[\d.,\s]+")
_MIN_PHONE_DIGITS = 8
MAX_AMOUNT = Decimal("1e17")
FIRST_YEAR, LAST_YEAR = 1970, 2100
# Two days a relative date would be read from differently (a written-out date reads the same from both).
_RELATIVE_BASES = (datetime(2001, 3, 14, 10, 0), datetime(2011, 9, 27, 15, 0))  # noqa: DTZ001 - compared only
_MINUS_SIGNS = ("-", "\u2212", "\u2013")
_PHONE_SEPARATORS_RE = re.compile(r"\s*(?:[,;/|\n]|\s-\s|\s+hoặc\s+|\s+or\s+)\s*", re.IGNORECASE)


class CellError(ValueError):
    """A cell that cannot be read; `code` names the problem (a text key), `params` fill its message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def blank(value: Any) -> bool:
    """Tell whether a cell is empty (None, or only spaces)."""
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    """Return a cell as one clean line of text (numbers without a trailing .0)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return clean_name(str(value))


def long_text(value: Any) -> str:
    """Return a cell as text with its line breaks kept (a summary)."""
    return clean_text(str(value)).strip()


# ---------------------------------------------------------------- times


def moment(value: Any, tz: tzinfo) -> datetime:
    """Read a timestamp: an Excel date cell, a serial number, 2026-11-20, 20/11/2026 14:30; naive means local."""
    found = _in_range(_naive_or_aware(value), value)
    if found.tzinfo is None:
        found = found.replace(tzinfo=tz)
    # Seconds are the precision of a spreadsheet (Excel keeps milliseconds as float fractions).
    return found.replace(microsecond=0)


def day(value: Any) -> date:
    """Read a date (a timestamp's date when a time is given too)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return _in_range(datetime.combine(value, time()), value).date()
    return _in_range(_naive_or_aware(value), value).date()


def _in_range(found: datetime, original: object) -> datetime:
    """Refuse a date no customer book holds (a typo, 31/12/9999, 1/1/1900): it would sort and age every report."""
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise CellError("date_out_of_range", value=text(original), first=FIRST_YEAR, last=LAST_YEAR)
    return found


def _naive_or_aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, bool):
        raise CellError("not_a_date", value=value)
    if isinstance(value, int | float):
        return _serial(float(value), value)
    raw = clean_name(str(value))
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return _serial(float(raw), raw)
    return _typed(raw)


def _serial(number: float, original: object) -> datetime:
    if not 1 <= number < _MAX_SERIAL:
        raise CellError("not_a_date", value=original)
    # A whole serial is a day; the fraction is the time of day, rounded to the second.
    return _EXCEL_EPOCH + timedelta(seconds=round(number * 86400))


def _typed(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    matched = _DMY_RE.fullmatch(raw.lower())
    if matched:
        return _day_month_year(matched, raw)
    return _by_dateparser(raw)


def _day_month_year(matched: re.Match[str], raw: str) -> datetime:
    d, m, y, hh, mm, ss, half = matched.groups()
    year = int(y) + (2000 if len(y) == 2 else 0)
    hour = int(hh or 0)
    if half in ("pm", "ch") and hour < 12:
        hour += 12
    if half in ("am", "sa") and hour == 12:
        hour = 0
    try:
        return datetime(year, int(m), int(d), hour, int(mm or 0), int(ss or 0))  # noqa: DTZ001 - local, zoned later
    except ValueError:
        raise CellError("not_a_date", value=raw) from None


def _by_dateparser(raw: str) -> datetime:
    """Dates written out ("20 tháng 11 năm 2026", "Nov 20, 2026"): dateparser, day before month."""
    import dateparser

    def parse(base: datetime) -> datetime | None:
        return dateparser.parse(raw, languages=["vi", "en"], settings={
            "DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["day", "month", "year"],
            "RELATIVE_BASE": base})

    found = parse(_RELATIVE_BASES[0])
    if found is None:
        raise CellError("not_a_date", value=raw)
    # "hôm qua", "3 days ago": a date that moves with the day of the import (importing twice would differ).
    if parse(_RELATIVE_BASES[1]) != found:
        raise CellError("relative_date", value=raw)
    return found


# ---------------------------------------------------------------- money


@dataclass(frozen=True)
class Amount:
    """An amount in major units and the currency it was written in (None: not said)."""

    value: Decimal
    currency: str | None


def amount(value: Any) -> Amount:
    """Read an amount: a number cell, 1.200.000.000, 1,2 tỷ, 500tr, 96 triệu, $1,200 (the parser's money reading)."""
    if isinstance(value, bool):
        raise CellError("not_a_number", value=value)
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise CellError("not_a_number", value=value) from None
        return _checked(Amount(number, None), value)
    raw = clean_name(str(value))
    if raw.startswith(_MINUS_SIGNS) or (raw.startswith("(") and raw.endswith(")")):  # (1.200) is accountants' minus
        raise CellError("negative_amount", value=raw)
    found = parse_amount_text(raw, "vi")
    if found is None:
        raise CellError("not_a_number", value=raw)
    number, currency = found
    # The parser defaults to VND; a bare number ("1.200.000") says no currency, so the currency column decides.
    said = None if _BARE_NUMBER_RE.fullmatch(raw) else currency
    return _checked(Amount(number, said), raw)


def _checked(found: Amount, original: object) -> Amount:
    if found.value < 0:
        raise CellError("negative_amount", value=original)
    if not found.value.is_finite() or found.value >= MAX_AMOUNT:
        raise CellError("amount_out_of_range", value=original)
    return Amount(found.value.quantize(Decimal("0.01")).normalize() if found.value % 1 else
                  found.value.quantize(Decimal(1)), found.currency)


def currency(value: Any) -> str:
    """Read a currency: an ISO code or a sign or word (₫, đ, $, đồng, đô)."""
    wanted = fold(text(value))
    for code, names in _values()["currencies"].items():
        if wanted == code.lower() or wanted in {fold(str(n)) for n in names}:
            return str(code)
    if re.fullmatch(r"[a-z]{3}", wanted):
        return wanted.upper()
    raise CellError("unknown_currency", value=text(value))


def quantity(value: Any) -> int:
    """Read a whole, non-negative count."""
    try:
        number = Decimal(str(value).strip().replace(",", "").replace(".", "")) if isinstance(value, str) \
            else Decimal(str(value))
    except InvalidOperation:
        raise CellError("not_a_number", value=value) from None
    if number < 0 or number % 1 or number > 2**31 - 1:
        raise CellError("not_a_number", value=value)
    return int(number)


# ---------------------------------------------------------------- people


def phone(value: Any) -> str:
    """Read a phone number, normalised to +84… for Vietnamese numbers (a number cell lost its leading 0)."""
    raw = text(value)
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) < _MIN_PHONE_DIGITS or len(digits) > 15:
        raise CellError("not_a_phone", value=raw)
    if not isinstance(value, str) and len(digits) == 9:
        raw = "0" + digits
    found = find_phone(raw)
    return found[0] if found else raw


def phones(value: Any) -> list[str]:
    """Read a cell holding one phone number or several ("0912 345 678, 028 3822 1234"): each read by `phone`."""
    raw = text(value)
    parts = [part for part in _PHONE_SEPARATORS_RE.split(raw) if part.strip()] if isinstance(value, str) else [raw]
    if len(parts) < 2:
        return [phone(value)]
    return [phone(part) for part in parts]


def phone_key(number: str) -> str:
    """Return the digits that identify a phone number however it is written ("0912…", "+84 912…" are one)."""
    return national_digits(number)


def email(value: Any) -> str:
    """Read an e-mail address (compared without case)."""
    raw = text(value)
    found = find_email(raw)
    if found is None:
        raise CellError("not_an_email", value=raw)
    return found[0]


def boolean(value: Any) -> bool:
    """Read yes/no/x/có/không/1/0 (a date means done too: when it was done)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime | date):
        return True
    wanted = fold(text(value))
    for verdict, names in _names("booleans").items():
        if wanted in names:
            return verdict == "true"
    raise CellError("not_a_boolean", value=text(value))


@cache
def _names(table: str) -> dict[str, frozenset[str]]:
    """Return each key of a value table with every folded name it may be typed as."""
    names = {}
    for key, entry in _values()[table].items():
        if isinstance(entry, list):  # booleans: a plain list of names
            names[str(key)] = frozenset(fold(str(n)) for n in entry)
        else:
            names[str(key)] = frozenset({fold(str(key)), fold(entry["en"]), fold(entry["vi"]),
                                         *(fold(str(a)) for a in entry.get("aliases", []))})
    return names


def _choice(table: str, value: Any, code: str) -> str:
    wanted = fold(text(value))
    for key, names in _names(table).items():
        if wanted in names:
            return key
    raise CellError(code, value=text(value))


def role(value: Any) -> str:
    """Read a staff role in either language."""
    return _choice("roles", value, "unknown_role")


def status(value: Any) -> str:
    """Read a deal status (open/won/lost) in either language."""
    return _choice("statuses", value, "unknown_status")


def language(value: Any) -> str:
    """Read a user language (vi/en)."""
    return _choice("languages", value, "unknown_language")


def kind(value: Any) -> str:
    """Read an interaction kind: our names in either language, else the parser's words ("gọi", "Zalo", "họp")."""
    try:
        return _choice("kinds", value, "unknown_kind")
    except CellError:
        return kind_from_text(text(value))


def lost_reason(value: Any) -> str:
    """Read why a deal was lost: a listed reason's key, or its name in either language (as export writes it), gives
    the key; any other words are the closer's own, kept as written."""
    written = text(value)
    wanted = fold(written)
    return next((key for key, names in _names("lost_reasons").items() if wanted in names), written)


@cache
def _erased_forms() -> tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]]:
    """The erased customer's and company's names as export writes them (one pattern, either language), the words
    standing for a whole erased text, and those standing for erased words inside a text."""
    table = _values()["erased"]
    names = [
        re.escape(words[part]).replace(re.escape(f"{{{field}}}"), r"\d+")
        for words in table.values()
        for part, field in (("name", "contact"), ("company", "company"))
    ]
    whole = tuple(words["text"] for words in table.values())
    inline = tuple(words["inline"] for words in table.values())
    return re.compile(rf"(?:{'|'.join(names)})"), whole, inline


def about_erased(value: Any) -> bool:
    """Tell whether a cell is what export writes for an erased customer, her company or her words."""
    if not isinstance(value, str):
        return False
    written = value.strip()
    names, whole, _ = _erased_forms()
    return names.fullmatch(written) is not None or written in whole


def with_erased_marker(written: str) -> str:
    """Return a text with the words export writes for erased text read back as the stored marker ("(đã xóa)" ->
    "[erased]"), so a re-imported record matches the one it came from."""
    _, whole, inline = _erased_forms()
    for mark in (*whole, *inline):
        written = written.replace(mark, ERASED)
    return written


def shown_lost_reason(reason: str | None, lang: str) -> str | None:
    """Return how export writes why a deal was lost: a listed reason by its name in `lang`, other words as they are."""
    if reason is None or reason not in _values()["lost_reasons"]:
        return reason
    return shown("lost_reasons", reason, lang)


def telegram_id(value: Any) -> int:
    """Read a Telegram user id (a whole positive number)."""
    try:
        number = int(Decimal(text(value)))
    except (InvalidOperation, ValueError):
        raise CellError("not_a_telegram_id", value=text(value)) from None
    if number <= 0:
        raise CellError("not_a_telegram_id", value=text(value))
    return number


def shown(table: str, key: str, lang: str) -> str:
    """Return how export writes a role, status, language or kind in `lang`."""
    entry = _values()[table][key]
    return str(entry["vi"] if lang == "vi" else entry["en"])


def shown_boolean(value: bool, lang: str) -> str:
    """Return how export writes a yes/no."""
    if lang == "vi":
        return "có" if value else "không"
    return "yes" if value else "no"


@cache
def _values() -> dict[str, Any]:
    with (_DATA / "values.yaml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded

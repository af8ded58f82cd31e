"""What we accept from users before anything reads it: record ids, and text cleaned at the door.

Every id a user types or a button carries passes `parse_id` before it reaches SQL, and every small number a
user types (a percentage, a count of days) passes `read_bounded` or `parse_bounded`: ASCII digits
only (`int("²")` raises, `"²".isdigit()` is true) and within the store's integer keys
(PostgreSQL's INTEGER is 32-bit; a larger number there is an error, not a miss). Every inbound's
text passes `clean_inbound` before routing (`crm_core.textnorm.clean_text`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from crm_core.textnorm import clean_text, fold

from bot.core.messages import Inbound

MAX_ID = 2**31 - 1  # the largest INTEGER key on PostgreSQL (and the most any of our tables will hold)
_MAX_ID_DIGITS = len(str(MAX_ID))


def parse_id(text: str, *, allow_zero: bool = False) -> int | None:
    """Return the record id `text` spells (1..2^31-1; 0 too with `allow_zero`), or None."""
    if not text or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if (1 if not allow_zero else 0) <= value <= MAX_ID else None


@dataclass(frozen=True)
class NumberRead:
    """A small whole number a user typed (`value`), or what is wrong with it (`problem`, with its `details`).

    Problems: not_number (no number first), decimal ("15,5": which whole number is meant is the user's call),
    out_of_range, unit (words after the number that are not its unit).
    """

    value: int | None
    problem: str | None = None
    details: dict[str, object] = field(default_factory=dict)


_NUMBER_RE = re.compile(r"^(-?)\s*([0-9]+)(?:[.,]([0-9]+))?\s*(.*)$", re.ASCII | re.DOTALL)


@cache
def _unit_words() -> dict[str, frozenset[str]]:
    raw = json.loads(resources.files("crm_core.understanding").joinpath("data", "number_units.json")
                     .read_text(encoding="utf-8"))
    return {unit: frozenset(fold(word) for word in words) for unit, words in raw.items() if not unit.startswith("_")}


def read_bounded(text: str, low: int, high: int, *, unit: str) -> NumberRead:
    """Read a whole number within low..high, in ASCII digits, that may be followed by its `unit`'s words
    ("15%", "10 ngày"; crm_core/understanding/data/number_units.json), or say what is wrong with the text."""
    stripped = text.strip()
    found = _NUMBER_RE.match(stripped)
    if found is None:
        return NumberRead(None, "not_number", {"text": stripped[:40]})
    minus, digits, fraction, rest = found.groups()
    if fold(rest) and fold(rest) not in _unit_words().get(unit, frozenset()):
        return NumberRead(None, "unit", {"word": rest[:40]})
    if minus or len(digits) > len(str(high)) + 2:  # a few leading zeros pass; a 5,000-digit number is never read
        return NumberRead(None, "out_of_range", {"text": stripped[:40]})
    value = int(digits)
    if fraction is not None:
        return NumberRead(None, "decimal", {"lower": value, "upper": value + 1})
    if not low <= value <= high:
        return NumberRead(None, "out_of_range", {"text": stripped[:40]})
    return NumberRead(value)


def parse_bounded(text: str, low: int, high: int) -> int | None:
    """Return the whole number `text` spells in ASCII digits (a trailing % allowed) within low..high, or None."""
    digits = text.strip().removesuffix("%").strip()
    if not digits or len(digits) > len(str(high)) + 2 or not (digits.isascii() and digits.isdigit()):
        return None  # a few leading zeros pass; a 5,000-digit number is never converted
    value = int(digits)
    return value if low <= value <= high else None


def clean_inbound(inbound: Inbound) -> Inbound:
    """Return `inbound` with every text a user controls cleaned (NFC; no NUL, surrogates, invisible marks)."""
    return replace(inbound, text=_clean(inbound.text), callback_data=_clean(inbound.callback_data),
                   shared_phone=_clean(inbound.shared_phone), display_name=_clean(inbound.display_name),
                   username=_clean(inbound.username), reply_to_text=_clean(inbound.reply_to_text))


def _clean(value: str | None) -> str | None:
    return clean_text(value) if value is not None else None

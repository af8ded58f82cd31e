"""What we accept from users before anything reads it: record ids, and text cleaned at the door.

Every id a user types or a button carries passes `parse_id` before it reaches SQL, and every small number a
user types (a percentage, a count of days) passes `parse_bounded`: ASCII digits
only (`int("²")` raises, `"²".isdigit()` is true) and within the store's integer keys
(PostgreSQL's INTEGER is 32-bit; a larger number there is an error, not a miss). Every inbound's
text passes `clean_inbound` before routing (`crm_core.textnorm.clean_text`).
"""

from __future__ import annotations

from dataclasses import replace

from crm_core.textnorm import clean_text

from bot.core.messages import Inbound

MAX_ID = 2**31 - 1  # the largest INTEGER key on PostgreSQL (and the most any of our tables will hold)
_MAX_ID_DIGITS = len(str(MAX_ID))


def parse_id(text: str, *, allow_zero: bool = False) -> int | None:
    """Return the record id `text` spells (1..2^31-1; 0 too with `allow_zero`), or None."""
    if not text or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if (1 if not allow_zero else 0) <= value <= MAX_ID else None


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

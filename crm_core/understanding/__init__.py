"""Free-text log understanding (Vietnamese and English): dates, money, names, kind, stage.

Rules first: our own patterns find and resolve the common expressions; the optional LLM path
(`crm_core.llm.fill`) only fills what the rules left empty.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from crm_core.understanding.classify import kind_from_text
from crm_core.understanding.dates import find_dates
from crm_core.understanding.model import KnownContact, KnownNames, ParsedLog
from crm_core.understanding.money import parse_amount_text as _parse_amount_text
from crm_core.understanding.parser import parse_log, without_when
from crm_core.understanding.text import prepare
from crm_core.understanding.times import find_times

__all__ = [
    "KnownContact",
    "KnownNames",
    "ParsedLog",
    "kind_from_text",
    "parse_amount_text",
    "parse_due_text",
    "parse_log",
    "parse_time_text",
    "without_when",
]


def parse_amount_text(text: str, language: str) -> tuple[Decimal, str] | None:
    """Read an amount typed on its own ("500tr", "$40", "1,2 tỷ"); None when there is none."""
    try:
        return _parse_amount_text(text, language)
    except Exception:  # an edited field must never crash the bot
        return None


def parse_due_text(text: str, *, now: datetime, language: str) -> date | None:
    """Read a due date typed on its own ("thứ 6", "mai", "15/12", "next Tuesday"); None when there is none."""
    try:
        original, folded = prepare(text)
        for mention in find_dates(original, folded, now.date(), language):
            if mention.value is not None:
                return mention.value
    except Exception:  # an edited field must never crash the bot
        return None
    return _dateparser_fallback(text, now=now, language=language)


def parse_time_text(text: str) -> time | None:
    """Read a time of day typed with a due date ("mai 3h chiều", "15:30", "10am"); None when there is none."""
    original, folded = prepare(text)
    found = find_times(original, folded)
    return found[0].value if found else None


def _dateparser_fallback(text: str, *, now: datetime, language: str) -> date | None:
    """Hand a short leftover span to dateparser (never a whole message)."""
    if not text.strip() or len(text) > 40 or not any(ch.isalnum() for ch in text):
        return None
    import dateparser

    settings = {"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY"}
    try:
        got = dateparser.parse(text, languages=[language, "en"], settings=settings)
    except Exception:
        return None
    return got.date() if got else None

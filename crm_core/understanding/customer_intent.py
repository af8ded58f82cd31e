"""What a customer's message is besides a question: interest in buying, or only a greeting or thanks."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.textnorm import fold

_DATA = Path(__file__).resolve().parent / "data" / "customer_intent.json"
_WORD = re.compile(r"[0-9a-z]+")


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


@cache
def _phrases(name: str) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(_data()[name], key=len, reverse=True))
    return re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])")


def asks_about_buying(text: str) -> bool:
    """Tell whether `text` asks for a price, to order or to pay (Vietnamese with or without accents, English)."""
    return _phrases("buying").search(_phrases("not_buying").sub(" ", fold(text))) is not None


def is_small_talk(text: str) -> bool:
    """Tell whether `text` is only a greeting, thanks or emoji: nothing to look up, nobody to call."""
    if not any(unicodedata.category(ch)[0] in ("L", "N") for ch in text):
        return True
    words = _WORD.findall(fold(text))
    return bool(words) and len(words) <= 6 and _phrases("small_talk").sub(" ", " ".join(words)).strip() == ""

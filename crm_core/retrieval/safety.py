"""Rules that decide a customer question goes to a human instead of the knowledge base (vi + en)."""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from crm_core.retrieval.normalize import expand_abbreviations, load_json
from crm_core.textnorm import fold

SafetyReason = Literal["unsafe", "asked_for_human", "complaint"]
_ORDER: tuple[SafetyReason, ...] = ("unsafe", "asked_for_human", "complaint")


@cache
def _patterns() -> dict[SafetyReason, re.Pattern[str]]:
    table = load_json("safety.json")
    out: dict[SafetyReason, re.Pattern[str]] = {}
    for reason in _ORDER:
        phrases = sorted({fold(p) for p in table[reason]}, key=len, reverse=True)
        alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
        out[reason] = re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])")
    return out


def classify(text: str) -> SafetyReason | None:
    """Return why `text` must not be answered from the knowledge base, or None."""
    folded = fold(text)
    expanded = fold(expand_abbreviations(text))
    patterns = _patterns()
    for reason in _ORDER:
        if patterns[reason].search(folded) or patterns[reason].search(expanded):
            return reason
    return None

"""Rules that decide a customer question goes to a human instead of the knowledge base (vi + en)."""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from crm_core.retrieval.normalize import expand_abbreviations, load_json
from crm_core.textnorm import fold, nfc

SafetyReason = Literal["unsafe", "asked_for_human", "complaint"]
# A complaint that also asks for a person ("cho gặp quản lý, nhân viên tư vấn sai") is a complaint: it is said first.
_ORDER: tuple[SafetyReason, ...] = ("unsafe", "complaint", "asked_for_human")


@cache
def _patterns() -> dict[SafetyReason, re.Pattern[str]]:
    table = load_json("safety.json")
    out: dict[SafetyReason, re.Pattern[str]] = {}
    for reason in _ORDER:
        phrases = sorted({fold(p) for p in table[reason]}, key=len, reverse=True)
        alternation = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
        out[reason] = re.compile(rf"(?<![0-9a-z])(?:{alternation})(?![0-9a-z])")
    return out


@cache
def _regexes(table_name: str = "_patterns") -> dict[str, list[re.Pattern[str]]]:
    table = load_json("safety.json").get(table_name, {})
    return {reason: [re.compile(p) for p in table.get(reason, [])] for reason in _ORDER}


def classify(text: str) -> SafetyReason | None:
    """Return why `text` must not be answered from the knowledge base, or None."""
    text = nfc(text)
    folded = fold(text)
    expanded = fold(expand_abbreviations(text))
    patterns, regexes, folded_regexes = _patterns(), _regexes(), _regexes("_folded_patterns")
    for reason in _ORDER:
        if patterns[reason].search(folded) or patterns[reason].search(expanded):
            return reason
        if any(rx.search(text) for rx in regexes.get(reason, [])):
            return reason
        if any(rx.search(folded) or rx.search(expanded) for rx in folded_regexes.get(reason, [])):
            return reason
    return None

"""Times of day in log messages: "3h chiều", "15h30", "9 giờ rưỡi sáng", "lúc 4h", "10am", "14:30", "noon".

A time is only a clock time here; which date it belongs to is the parser's business (the due date's
clause). Parts of the day without an hour ("chiều mai", "tomorrow afternoon") give a nominal time
(`part_time`): sáng/morning 09:00, trưa/noon 12:00, chiều/afternoon 14:00, tối/evening/tonight 19:00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from crm_core.understanding import vocabulary

_B = r"(?<![a-z0-9:./,])"
_E = r"(?![a-z0-9])"

_PART = r"(?:buoi\s+)?(?P<part>sang|trua|chieu|toi|dem|am|pm|a\.m\.|p\.m\.)"
# "3h", "15h30", "9g", "9 giờ rưỡi", "14:30", "10am", "4:30 pm", optionally "lúc"/"vào lúc"/"at" before, a part after.
_CLOCK = re.compile(
    _B
    + r"(?:(?:vao\s+)?luc\s+|at\s+|@\s*)?(?P<h>\d{1,2})"
    + r"(?:\s*(?:h|g|gio)(?:\s*(?P<m>\d{2})(?:\s*(?:p|phut))?|\s+(?P<half>ruoi)|(?=[^a-z0-9]|$))|:(?P<m2>\d{2})"
    + r"|(?=\s*(?:am|pm|a\.m\.|p\.m\.)" + _E + r"))"
    + r"(?:\s*" + _PART + r"(?![a-z0-9]))?"
)
# "lúc 4", "lúc 4 chiều": an hour after "lúc" needs no "h".
_LUC = re.compile(_B + r"(?:vao\s+)?luc\s+(?P<h>\d{1,2})(?![\d.,:/a-z%])(?:\s*" + _PART + r"(?![a-z0-9]))?")
_NOON = re.compile(_B + r"(?:at\s+)?(?:noon|midday|12\s*noon)" + _E)

_PART_WORDS = re.compile(
    _B + r"(?:buoi\s+)?(sang|trua|chieu|toi|dem|morning|afternoon|evening|tonight|noon|lunch)" + _E
)
_NOMINAL = {
    "sang": time(9, 0),
    "morning": time(9, 0),
    "trua": time(12, 0),
    "noon": time(12, 0),
    "lunch": time(12, 0),
    "chieu": time(14, 0),
    "afternoon": time(14, 0),
    "toi": time(19, 0),
    "dem": time(19, 0),
    "evening": time(19, 0),
    "tonight": time(19, 0),
}
# "nhắc tôi", "cho tôi": "toi" typed without accents after these is "tôi" (I), not "tối" (evening).
_TOI_PRONOUN_AFTER = vocabulary.words("toi_pronoun_after")


@dataclass(frozen=True, slots=True)
class TimeMention:
    """One clock time found in the text."""

    start: int
    end: int
    value: time


def _hour(h: int, minute: int, part: str | None) -> time | None:
    if h > 24 or minute > 59:
        return None
    if h == 24:
        h = 0
    if part in {"sang", "am", "a.m."}:
        h = 0 if h == 12 else h
    elif part == "trua":
        h = h + 12 if h < 11 else h
    elif part in {"chieu", "pm", "p.m.", "toi"}:
        h = h + 12 if h < 12 else h
    elif part == "dem":
        h = h + 12 if 6 <= h < 12 else (0 if h == 12 else h)
    elif 1 <= h <= 6:
        h += 12  # "lúc 4h", "at 3": office hours, so the afternoon
    if h > 23:
        return None
    return time(h, minute)


def _toi_is_pronoun(original: str, folded: str, start: int) -> bool:
    if original[start : start + 3].lower() == "tối":
        return False
    if original[start : start + 3].lower() == "tôi":
        return True
    before = folded[max(0, start - 12) : start].split()
    return bool(before) and before[-1] in _TOI_PRONOUN_AFTER


def find_times(original: str, folded: str) -> list[TimeMention]:
    """Find clock times, in order, without overlaps."""
    found: list[TimeMention] = []
    for pattern in (_CLOCK, _LUC):
        for m in pattern.finditer(folded):
            part = m.group("part")
            end = m.end()
            if part == "toi" and _toi_is_pronoun(original, folded, m.start("part")):
                part, end = None, m.start("part")
            minute = 0
            if "m" in m.groupdict() and (m.group("m") or m.group("m2")):
                minute = int(m.group("m") or m.group("m2"))
            elif "half" in m.groupdict() and m.group("half"):
                minute = 30
            value = _hour(int(m.group("h")), minute, part)
            if value is not None:
                found.append(TimeMention(m.start(), len(folded[:end].rstrip()), value))
    for m in _NOON.finditer(folded):
        found.append(TimeMention(m.start(), m.end(), time(12, 0)))
    found.sort(key=lambda t: (t.start, -(t.end - t.start)))
    kept: list[TimeMention] = []
    for t in found:
        if kept and t.start < kept[-1].end:
            continue
        kept.append(t)
    return kept


def part_time(original: str, folded: str, start: int, end: int) -> time | None:
    """Return the nominal time of a part-of-day word in [start, end) or the one word on either side."""
    lo, hi = start, end
    before = _LAST_WORD.search(folded, max(0, start - 15), start)
    if before is not None:
        lo = before.start(1)
    after = _NEXT_WORD.match(folded, end, min(len(folded), end + 15))
    if after is not None:
        hi = after.end()
    for m in _PART_WORDS.finditer(folded, lo, hi):
        word = m.group(1)
        if word == "toi" and _toi_is_pronoun(original, folded, m.start(1)):
            continue
        return _NOMINAL[word]
    return None


_LAST_WORD = re.compile(r"([a-z]+)\s*$")
_NEXT_WORD = re.compile(r"\s*[a-z]+")

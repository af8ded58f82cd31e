"""Dates in log messages (Vietnamese and English), resolved against the message's local date."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from crm_core.understanding import vocabulary
from crm_core.understanding.numbers import EN_SMALL

Tense = Literal["past", "today", "future"]


@dataclass(slots=True)
class DateMention:
    """One date expression found in the text."""

    start: int
    end: int
    value: date | None
    options: list[date] = field(default_factory=list)
    tense_hint: Tense | None = None  # set when the words themselves say past/today/future
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class _Ctx:
    today: date
    language: str
    original: str
    folded: str


_Handler = Callable[[re.Match[str], _Ctx], DateMention | None]

# ---------------------------------------------------------------- helpers

_VI_NUM = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
    "muoi mot": 11,
    "muoi hai": 12,
    "gieng": 1,
    "chap": 12,
    "vai": 3,
    "dam": 3,
}
_EN_NUM = {
    **{word: value for word, value in EN_SMALL.items() if 1 <= value <= 30},
    "a": 1,
    "an": 1,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 3,
    "twenty": 20,
    "thirty": 30,
}
_MONTHS_EN = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
_WD_EN = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_WD_VI = {"2": 0, "hai": 0, "3": 1, "ba": 1, "4": 2, "tu": 2, "5": 3, "nam": 3, "6": 4, "sau": 4, "7": 5, "bay": 5}


def _num(text: str) -> int | None:
    text = " ".join(text.split())
    if text.isdigit():
        return int(text)
    return _VI_NUM.get(text, _EN_NUM.get(text))


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _month_end(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _year_for(day: int, month: int, today: date) -> date | None:
    """Pick the year for a day/month without one: this year unless that is over a month ago."""
    this = _safe_date(today.year, month, day)
    if this is None:
        if month == 2 and day == 29:
            for y in range(today.year, today.year + 8):
                got = _safe_date(y, 2, 29)
                if got and got >= today - timedelta(days=31):
                    return got
        return None
    if this < today - timedelta(days=31):
        return _safe_date(today.year + 1, month, day)
    return this


def _full_year(y: int) -> int:
    if y < 100:
        return 2000 + y if y < 70 else 1900 + y
    return y


def _next_weekday(today: date, wd: int, *, allow_today: bool = False) -> date:
    delta = (wd - today.weekday()) % 7
    if delta == 0 and not allow_today:
        delta = 7
    return today + timedelta(days=delta)


def _prev_weekday(today: date, wd: int) -> date:
    delta = (today.weekday() - wd) % 7 or 7
    return today - timedelta(days=delta)


def _mention(
    m: re.Match[str],
    value: date | None,
    tense: Tense | None = None,
    *,
    options: list[date] | None = None,
    unreadable: bool = False,
) -> DateMention:
    return DateMention(m.start(), m.end(), value, options or ([value] if value else []), tense, unreadable)


def _tense_of(value: date, today: date) -> Tense:
    if value < today:
        return "past"
    return "today" if value == today else "future"


# ---------------------------------------------------------------- handlers

_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"
_VI_WORD_NUM = r"(?:\d{1,3}|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|vai|dam)"
_EN_WORD_NUM = r"(?:\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty|thirty|a couple(?: of)?|couple of|a few|few|several)"  # noqa: E501


def _h_vi_relday(m: re.Match[str], c: _Ctx) -> DateMention | None:
    word = m.group("w")
    part = m.group("part") or ""
    if word in {"nay", "qua", "kia"} and not (part or m.group(0) != word):
        return None  # bare "qua"/"nay" are "via"/"this" far more often than dates
    offsets = {"nay": 0, "qua": -1, "kia": -2, "mai": 1, "mot": 2}
    off = (2 if m.group(0).startswith("ngay kia") else -2) if word == "kia" else offsets[word]
    if (
        word == "mot"
        and not _accented(c, m.start("w"), "mốt")
        and not m.group(0).startswith("ngay")
        and not _mot_unaccented(m, c)
    ):
        return None
    if word == "mai" and _mai_is_name(m, c):
        return None
    value = c.today + timedelta(days=off)
    if off < 0:
        tense: Tense = "past"
    elif off > 0:
        tense = "future"
    elif part.strip() in {"sang", "buoi sang"}:
        tense = "past"
    elif part.strip() in {"toi", "dem", "chieu", "trua", "buoi toi", "buoi chieu"}:
        tense = "future"
    else:
        tense = "today"
    return _mention(m, value, tense)


_HONORIFICS_BEFORE_NAME = vocabulary.words("honorifics_before_name")


def _mai_is_name(m: re.Match[str], c: _Ctx) -> bool:
    start = m.start("w")
    if m.start() != start:
        return False  # "ngày mai", "sáng mai"
    before = c.folded[max(0, start - 12) : start].split()
    if before and before[-1].strip(".,") in _HONORIFICS_BEFORE_NAME | {"voi", "with", "called", "call", "met"}:
        return True
    if c.original[start].isupper():
        left = c.original[max(0, start - 3) : start].strip()
        if left and left[-1] not in ".!?:;,-(\n":
            return True  # "bên Sao Mai", "gặp Mai": a name in mid-sentence
    after = c.original[m.end() : m.end() + 12].split()
    if after and after[0][:1].isupper() and c.original[start].isupper():
        return True  # "Mai Anh", "Mai Linh"
    nxt = c.folded[m.end() : m.end() + 6].split()
    return bool(nxt) and nxt[0] in {"mot", "sau"}  # "mai mốt" means some day


_MOT_BEFORE = vocabulary.words("mot_day_before")
_MOT_AFTER = vocabulary.words("mot_day_after")


def _mot_unaccented(m: re.Match[str], c: _Ctx) -> bool:
    """Tell whether "mot" typed without accents is mốt (the day after tomorrow), not một (one).

    "mot goi lai", "mai hoac mot gui bao gia": it opens a clause (or follows "hoặc", "đến", "hẹn"…) and an
    action follows. "gui mot bao gia", "mot bo ban" are "one".
    """
    start = m.start("w")
    if m.start() != start or c.original[start : start + 3].lower() != "mot":
        return False
    before = c.folded[max(0, start - 12) : start].rstrip()
    if before and before[-1] not in ",.;:!?-(\n" and before.split()[-1] not in _MOT_BEFORE:
        return False
    after = c.folded[m.end() : m.end() + 12].split()
    return not after or after[0] in _MOT_AFTER


def _accented(c: _Ctx, pos: int, word: str) -> bool:
    return c.original[pos : pos + len(word)].lower() == word


def _h_en_relday(m: re.Match[str], c: _Ctx) -> DateMention | None:
    w = " ".join(m.group(0).split())
    if "after tomorrow" in w:
        return _mention(m, c.today + timedelta(days=2), "future")
    if "before yesterday" in w:
        return _mention(m, c.today - timedelta(days=2), "past")
    if w.startswith(("tomorrow", "tmr", "tmrw", "tomorow", "tommorow", "tommorrow", "2morrow")):
        return _mention(m, c.today + timedelta(days=1), "future")
    if w in {"yesterday", "last night", "yday", "yest"} or w.startswith("yesterday"):
        return _mention(m, c.today - timedelta(days=1), "past")
    if w in {"this morning", "earlier today", "this am"}:
        return _mention(m, c.today, "past")
    if w in {
        "tonight",
        "this evening",
        "this afternoon",
        "later today",
        "end of day",
        "end of today",
        "eod",
        "this pm",
    }:
        return _mention(m, c.today, "future")
    return _mention(m, c.today, "today")


def _vi_weekday_value(wd: int, mod: str, c: _Ctx, hom: bool) -> tuple[date, Tense | None]:
    today = c.today
    mod = " ".join(mod.split()).replace("cua ", "")
    if mod in {"tuan sau", "tuan toi", "sau", "tuan sau nua", "tuan ke", "tuan ke tiep", "tuan tiep theo"}:
        return _monday(today) + timedelta(days=7 + wd), "future"
    if mod in {"tuan nay", "nay", "nay nhe"}:
        return _monday(today) + timedelta(days=wd), None
    if mod in {"tuan truoc", "tuan roi", "truoc"}:
        return _monday(today) - timedelta(days=7) + timedelta(days=wd), "past"
    if mod in {"vua roi", "vua qua", "roi", "qua"} or hom:
        if hom and wd == today.weekday():
            return today, "past"
        return _prev_weekday(today, wd), "past"
    return _next_weekday(today, wd), None


def _h_vi_weekday(m: re.Match[str], c: _Ctx) -> DateMention | None:
    raw = m.group("wd")
    if raw.startswith(("chu", "chua")) or raw == "cn":
        wd = 6
    elif raw.startswith("t") and raw[1:].isdigit():
        wd = int(raw[1:]) - 2
    else:
        key = raw.split()[-1] if " " in raw else raw[3:].strip()
        if key not in _WD_VI:
            return None
        wd = _WD_VI[key]
    if raw == "cn" and not (m.group("mod") or m.group("hom")):
        nxt = c.original[m.end() : m.end() + 3].lstrip()
        if nxt[:1].isupper():
            return None  # "CN Hà Nội" is a branch, not Sunday
    value, tense = _vi_weekday_value(wd, m.group("mod") or "", c, bool(m.group("hom")))
    return _mention(m, value, tense)


def _h_en_weekday(m: re.Match[str], c: _Ctx) -> DateMention | None:
    name = m.group("wd")
    if len(name) <= 4 and name not in {"tues", "weds", "thur", "thurs"} and c.language != "en":
        return None
    if name in {"sat", "sun", "wed", "mon"} and c.original[m.start("wd")].islower() and not m.group("pre"):
        return None
    wd = _WD_EN[name]
    pre = (m.group("pre") or "").strip()
    post = " ".join((m.group("post") or "").split())
    today = c.today
    if pre == "next" or post in {"next week", "of next week", "after next"}:
        value = _monday(today) + timedelta(days=7 + wd)
        coming = _next_weekday(today, wd)
        opts = [value] + ([coming] if coming != value else [])
        return _mention(m, value, "future", options=opts)
    if pre == "last" or post in {"last week", "of last week"}:
        if post:
            return _mention(m, _monday(today) - timedelta(days=7 - wd), "past")
        return _mention(m, _prev_weekday(today, wd), "past")
    if post in {"this week", "of this week"} or pre == "this":
        value = _monday(today) + timedelta(days=wd)
        if pre == "this" and value < today:
            value = _next_weekday(today, wd)
        return _mention(m, value, None)
    if pre in {"on", "by", "until", "before", "coming", "this coming", "due"} or not pre:
        return _mention(m, _next_weekday(today, wd), None)
    return _mention(m, _next_weekday(today, wd), None)


def _h_dmy(m: re.Match[str], c: _Ctx) -> DateMention | None:
    a, b = int(m.group("a")), int(m.group("b"))
    ys = m.group("y")
    if m.group(0) in {"24/7", "24-7"}:
        return None
    sep = m.group("sep")
    if sep == "." and not ys:
        return None
    if ys:
        y = _full_year(int(ys))
        if c.language == "en" and a <= 12 and b <= 12 and a != b:
            first = _safe_date(y, a, b)
            second = _safe_date(y, b, a)
            opts = [d for d in (second, first) if d]
            best = second if second else first
            return _mention(m, best, None, options=opts) if best else _mention(m, None, unreadable=True)
        d = _safe_date(y, b, a) or (_safe_date(y, a, b) if c.language == "en" else None)
        return _mention(m, d) if d else _mention(m, None, unreadable=True)
    dm = _year_for(a, b, c.today) if b <= 12 else None
    if c.language == "en" and a <= 12:
        md = _year_for(b, a, c.today)
        cands = [d for d in (dm, md) if d]
        if not cands:
            return _mention(m, None, unreadable=True)
        # both readings are valid: the nearer one ahead is the better guess for a follow-up date
        cands = sorted(set(cands), key=lambda d: (d < c.today, abs((d - c.today).days)))
        return _mention(m, cands[0], None, options=cands)
    if dm is None:
        if b > 12 and a <= 12 and c.language == "en":
            md = _year_for(b, a, c.today)
            if md:
                return _mention(m, md)
        return _mention(m, None, unreadable=True)
    return _mention(m, dm)


def _h_iso(m: re.Match[str], c: _Ctx) -> DateMention | None:
    d = _safe_date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    return _mention(m, d) if d else _mention(m, None, unreadable=True)


def _vi_month(text: str | None) -> int | None:
    if not text:
        return None
    n = _num(text)
    return n if n is not None and 1 <= n <= 12 else None


def _h_vi_day_month(m: re.Match[str], c: _Ctx) -> DateMention | None:
    day = _num(m.group("d"))
    month = _vi_month(m.group("mo"))
    ys = m.group("y")
    if day is None:
        return None
    if m.group("mo") and month is None:
        return _mention(m, None, unreadable=True)
    if month is None:
        # "ngày 15": this month, or next month once it has passed
        d = _safe_date(c.today.year, c.today.month, day)
        if d is None or d < c.today:
            nxt = _add_months(c.today.replace(day=1), 1)
            d2 = _safe_date(nxt.year, nxt.month, day)
            if d2 is None and d is None:
                return _mention(m, None, unreadable=True)
            d = d2 or d
        return _mention(m, d)
    d = _safe_date(_full_year(int(ys)), month, day) if ys else _year_for(day, month, c.today)
    return _mention(m, d) if d else _mention(m, None, unreadable=True)


def _h_vi_first_of_month(m: re.Match[str], c: _Ctx) -> DateMention | None:
    month = _vi_month(m.group("mo"))
    if month is None:
        return None
    d = _year_for(1, month, c.today)
    return _mention(m, d)


def _h_vi_period(m: re.Match[str], c: _Ctx) -> DateMention | None:
    g = m.groupdict()
    which = g.get("which")
    unit = g.get("unit")
    mod = " ".join((g.get("mod") or g.get("mod2") or "").split())
    today = c.today
    nxt = mod in {"sau", "toi", "ke", "ke tiep", "tiep theo", "tiep"}
    prev = mod in {"truoc", "roi", "vua roi", "qua", "ngoai"}
    if unit == "tuan":
        base = _monday(today) + timedelta(days=7 if nxt else -7 if prev else 0)
        if which == "cuoi":
            return _mention(m, base + timedelta(days=5), "past" if prev else None)
        if which == "giua":
            return _mention(m, base + timedelta(days=2), "past" if prev else None)
        if which == "dau":
            if not nxt and not prev:
                base = base + timedelta(days=7) if today.weekday() > 1 else base
            return _mention(m, base, "past" if prev else None)
        if not which:
            if nxt:
                return _mention(m, base, "future")
            if prev:
                return _mention(m, base, "past")
            if mod == "nay":
                return _mention(m, max(today, base + timedelta(days=4)), None)
        return None
    if unit == "thang":
        month_no = _vi_month(g.get("mo"))
        if month_no is not None:
            y = today.year
            if month_no < today.month and not prev:
                y += 1
            first = date(y, month_no, 1)
        else:
            first = _add_months(today.replace(day=1), 1 if nxt else -1 if prev else 0)
        if which == "cuoi":
            return _mention(m, _month_end(first.year, first.month), "past" if prev else None)
        if which == "giua":
            return _mention(m, first.replace(day=15), "past" if prev else None)
        if which == "dau":
            if month_no is None and not nxt and not prev and today.day > 5:
                first = _add_months(first, 1)
            return _mention(m, first, "past" if prev else None)
        if nxt or prev or month_no is not None:
            return _mention(m, first, "past" if prev else None)
        return None
    if unit == "nam":
        y = today.year + (1 if nxt else -1 if prev else 0)
        if which == "cuoi":
            return _mention(m, date(y, 12, 31), "past" if prev else None)
        if which == "giua":
            return _mention(m, date(y, 6, 30), "past" if prev else None)
        if which == "dau":
            return _mention(m, date(y, 1, 1), "past" if prev else None)
        if nxt or prev:
            return _mention(m, date(y, 1, 1), "past" if prev else None)
        return None
    if unit == "quy":
        q_now = (today.month - 1) // 3
        qn = g.get("q")
        if qn:
            q = (_num(qn) or 1) - 1
            y = today.year
        else:
            q = q_now + (1 if nxt else -1 if prev else 0)
            y = today.year + q // 4
            q %= 4
        start = date(y, q * 3 + 1, 1)
        if which == "cuoi":
            return _mention(m, _month_end(y, q * 3 + 3), "past" if prev else None)
        return _mention(m, start, "past" if prev else None)
    return None


def _h_vi_offset(m: re.Match[str], c: _Ctx) -> DateMention | None:
    n = _num(m.group("n"))
    if n is None:
        return None
    unit = m.group("unit")
    direction = m.groupdict().get("dir") or ""
    sign = -1 if direction.strip() in {"truoc", "vua roi", "vua qua", "qua"} else 1
    return _offset(m, c, n * sign, unit)


def _offset(m: re.Match[str], c: _Ctx, n: int, unit: str) -> DateMention | None:
    if abs(n) > 3650:
        return None
    if unit in {"ngay", "hom", "day", "days"}:
        d = c.today + timedelta(days=n)
    elif unit in {"tuan", "week", "weeks", "wk", "wks"}:
        d = c.today + timedelta(days=7 * n)
    elif unit in {"thang", "month", "months"}:
        d = _add_months(c.today, n)
    elif unit in {"nam", "year", "years"}:
        d = _add_months(c.today, 12 * n)
    else:
        return None
    return _mention(m, d, "past" if n < 0 else "future")


def _h_en_in(m: re.Match[str], c: _Ctx) -> DateMention | None:
    n = _num(m.group("n"))
    if n is None:
        return None
    unit = m.group("unit")
    return _offset(m, c, n, unit)


def _h_en_ago(m: re.Match[str], c: _Ctx) -> DateMention | None:
    n = _num(m.group("n"))
    if n is None:
        return None
    return _offset(m, c, -n, m.group("unit"))


def _h_en_period(m: re.Match[str], c: _Ctx) -> DateMention | None:
    text = " ".join(m.group(0).split())
    today = c.today
    nxt = " next " in f" {text} "
    last = " last " in f" {text} " or " previous " in f" {text} "
    if "week" in text or text in {"eow"}:
        base = _monday(today) + timedelta(days=7 if nxt else -7 if last else 0)
        if "weekend" in text:
            return _mention(m, base + timedelta(days=5), "past" if last else None)
        if text.startswith(("end", "by end", "eow")) or "end of" in text:
            return _mention(m, base + timedelta(days=4), "past" if last else None)
        if text.startswith(("mid", "middle")):
            return _mention(m, base + timedelta(days=2), "past" if last else None)
        if nxt or last:
            return _mention(m, base, "past" if last else "future")
        return _mention(m, max(today, base + timedelta(days=4)), None)
    if "month" in text or text == "eom":
        first = _add_months(today.replace(day=1), 1 if nxt else -1 if last else 0)
        if "end" in text or text == "eom":
            return _mention(m, _month_end(first.year, first.month), "past" if last else None)
        if text.startswith(("mid", "middle")):
            return _mention(m, first.replace(day=15), "past" if last else None)
        if nxt or last or text.startswith(("beginning", "start", "early")):
            if not nxt and not last:
                first = _add_months(first, 1)
            return _mention(m, first, "past" if last else None)
        return None
    if "year" in text or text == "eoy":
        y = today.year + (1 if nxt else -1 if last else 0)
        if "end" in text or text == "eoy":
            return _mention(m, date(y, 12, 31), "past" if last else None)
        if nxt or last:
            return _mention(m, date(y, 1, 1), "past" if last else None)
    return None


def _h_en_month_day(m: re.Match[str], c: _Ctx) -> DateMention | None:
    month = _MONTHS_EN[m.group("mon")]
    day = int(m.group("d"))
    ys = m.group("y")
    if day > 31 or day == 0:
        return None
    mon_text = c.original[m.start("mon") : m.end("mon")]
    if m.group("mon") == "may" and mon_text[:1] != "M":
        return None  # "50 máy", "may be"
    if c.language == "vi" and not mon_text[:1].isupper():
        return None
    d = _safe_date(_full_year(int(ys)), month, day) if ys else _year_for(day, month, c.today)
    return _mention(m, d) if d else _mention(m, None, unreadable=True)


def _h_en_end_of_month_name(m: re.Match[str], c: _Ctx) -> DateMention | None:
    month = _MONTHS_EN[m.group("mon")]
    y = c.today.year if month >= c.today.month else c.today.year + 1
    which = m.group("which")
    if which.startswith("end"):
        return _mention(m, _month_end(y, month))
    if which.startswith("mid"):
        return _mention(m, date(y, month, 15))
    return _mention(m, date(y, month, 1))


def _h_en_ordinal(m: re.Match[str], c: _Ctx) -> DateMention | None:
    day = int(m.group("d"))
    pre = m.group("pre") or ""
    today = c.today
    d = _safe_date(today.year, today.month, day)
    if "last" in pre:
        if d is None or d > today:
            prev = _add_months(today.replace(day=1), -1)
            d = _safe_date(prev.year, prev.month, day)
        return _mention(m, d, "past") if d else None
    if d is None or d < today:
        nxt = _add_months(today.replace(day=1), 1)
        d = _safe_date(nxt.year, nxt.month, day)
    return _mention(m, d) if d else _mention(m, None, unreadable=True)


def _h_holiday(m: re.Match[str], c: _Ctx) -> DateMention | None:
    w = m.group(0)
    if "giang sinh" in w or "noel" in w or "christmas" in w or "xmas" in w:
        d = date(c.today.year, 12, 25)
    else:
        d = date(c.today.year + 1, 1, 1)
    if d < c.today - timedelta(days=31):
        d = d.replace(year=d.year + 1)
    return _mention(m, d)


def _h_season(m: re.Match[str], c: _Ctx) -> DateMention | None:
    starts = {"xuan": (3, 20), "he": (6, 21), "thu": (9, 23), "dong": (12, 21)}
    mo, dd = starts[m.group("s")]
    y = c.today.year
    if m.group("s") == "dong" and c.today.month <= 3:
        y -= 1
    return _mention(m, date(y, mo, dd))


_MON = r"(?P<mon>january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"  # noqa: E501
_WDN = (
    r"(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|weds|wed|thurs|thur|thu|fri|sat|sun)"
)

_PATTERNS: list[tuple[re.Pattern[str], _Handler]] = [
    (
        re.compile(
            _B
            + r"(?:(?:ngay\s+)?(?:thu\s*(?:2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|chu\s*nhat|chua\s*nhat|cn|t[2-7])\s*,?\s*)?(?:ngay\s+|mung\s+|mong\s+|ngay\s+mung\s+|ngay\s+mong\s+)(?P<d>\d{1,2})(?:\s*(?:thang|/|-)\s*(?P<mo>\d{1,2}|muoi mot|muoi hai|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|gieng|chap)(?:\s*(?:nam|/|-)\s*(?P<y>\d{4}|\d{2}))?)?"  # noqa: E501
            + _E
        ),
        _h_vi_day_month,
    ),
    (
        re.compile(
            _B
            + r"(?:(?:thu\s*(?:2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|chu\s*nhat|chua\s*nhat|cn|t[2-7])\s*,?\s*)?(?P<d>\d{1,2})\s+thang\s+(?P<mo>\d{1,2}|muoi mot|muoi hai|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|gieng|chap)(?:\s*nam\s*(?P<y>\d{4}))?"  # noqa: E501
            + _E
        ),
        _h_vi_day_month,
    ),
    (
        re.compile(
            _B
            + r"ngay\s+dau\s+(?:tien\s+)?(?:cua\s+)?thang\s+(?P<mo>\d{1,2}|muoi mot|muoi hai|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi)"  # noqa: E501
            + _E
        ),
        _h_vi_first_of_month,
    ),
    (re.compile(_B + r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})" + _E), _h_iso),
    (
        re.compile(
            r"(?<![\d/.,:-])(?:(?:(?:thu\s*(?:2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|chu\s*nhat|cn|t[2-7])|"
            + _WDN.replace("?P<wd>", "?:")
            + r")\s*[,(]?\s*(?:ngay\s+)?)?(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d/,]|\.\d)"  # noqa: E501
        ),
        _h_dmy,
    ),
    (
        re.compile(
            _B
            + r"(?P<hom>hom\s+|bua\s+)?(?:(?:sang|trua|chieu|toi|dem)\s+)?(?:ngay\s+)?(?P<wd>thu\s*(?:2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|chu\s*nhat|chua\s*nhat|cn|t[2-7])(?:\s*(?:,\s*)?(?P<mod>(?:cua\s+)?tuan\s+(?:sau nua|sau|toi|nay|truoc|roi|ke tiep|ke|tiep theo)|toi|nay|vua roi|vua qua|tuan|truoc))?"  # noqa: E501
            + _E
        ),
        _h_vi_weekday,
    ),
    (
        re.compile(
            _B
            + r"(?:ngay\s+)?(?:(?:hom|bua)\s+)?(?P<part>(?:buoi\s+)?(?:sang|trua|chieu|toi|dem)\s+)?(?:ngay\s+)?(?:hom\s+)?(?P<w>nay|qua|kia|mai|mot)"  # noqa: E501
            + _E
        ),
        _h_vi_relday,
    ),
    (
        re.compile(
            _B
            + r"(?P<n>"
            + _VI_WORD_NUM
            + r")\s+(?P<unit>ngay|tuan|thang|nam|hom)\s*(?P<dir>nua|toi|sau|tiep theo|truoc|vua roi|vua qua|qua)"
            + _E
        ),
        _h_vi_offset,
    ),
    (
        re.compile(
            _B + r"(?:sau|trong(?:\s+vong)?|khoang)\s+(?P<n>" + _VI_WORD_NUM + r")\s+(?P<unit>ngay|tuan|thang)" + _E
        ),
        _h_vi_offset,
    ),
    (
        re.compile(
            _B
            + r"(?:(?P<which>cuoi|dau|giua)\s+)?(?P<unit>tuan)(?:\s+(?P<mod>sau nua|sau|toi|ke tiep|ke|tiep theo|tiep|truoc|vua roi|roi|nay|qua))?"  # noqa: E501
            + _E
        ),
        _h_vi_period,
    ),
    (
        re.compile(
            _B
            + r"(?:(?P<which>cuoi|dau|giua)\s+)?(?P<unit>thang)(?:\s+(?P<mod>sau|toi|ke tiep|ke|tiep theo|tiep|truoc|vua roi|roi|nay|qua)|\s+(?P<mo>\d{1,2}|muoi mot|muoi hai|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|gieng|chap)(?:\s+(?:nam\s+\d{4}|toi|nay|sau|(?P<mod2>truoc))(?![a-z0-9]))?)?"  # noqa: E501
            + _E
        ),
        _h_vi_period,
    ),
    (
        re.compile(
            _B
            + r"(?:(?P<which>cuoi|dau|giua)\s+)?(?P<unit>nam)(?:\s+(?P<mod>sau|toi|ke tiep|ke|tiep theo|tiep|truoc|vua roi|roi|nay|qua|ngoai))?"  # noqa: E501
            + _E
        ),
        _h_vi_period,
    ),
    (
        re.compile(
            _B
            + r"(?:(?P<which>cuoi|dau|giua)\s+)?(?P<unit>quy)(?:\s+(?P<q>\d|mot|hai|ba|bon|tu))?(?:\s+(?P<mod>sau|toi|ke tiep|ke|tiep theo|tiep|truoc|vua roi|roi|nay|qua))?"  # noqa: E501
            + _E
        ),
        _h_vi_period,
    ),
    (
        re.compile(
            _B
            + r"(?:the\s+)?(?:day\s+after\s+tomorrow|day\s+before\s+yesterday|tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2morrow|yesterday|yday|today|tonight|this\s+(?:morning|afternoon|evening|am|pm)|earlier\s+today|later\s+today|last\s+night|end\s+of\s+(?:the\s+)?day|end\s+of\s+today|eod)"  # noqa: E501
            + _E
        ),
        _h_en_relday,
    ),
    (
        re.compile(
            _B
            + r"(?:(?P<pre>next|this coming|this|last|coming|on|by|until|before|due)\s+)?"
            + _WDN
            + r"\.?(?:\s+(?P<post>(?:of\s+)?next\s+week|(?:of\s+)?this\s+week|(?:of\s+)?last\s+week|after\s+next))?"
            + _E
        ),
        _h_en_weekday,
    ),
    (
        re.compile(
            _B
            + r"(?:in|within|after)\s+(?:the\s+next\s+)?(?P<n>"
            + _EN_WORD_NUM
            + r")\s+(?P<unit>days?|weeks?|wks?|months?|years?)"
            + _E
        ),
        _h_en_in,
    ),
    (
        re.compile(
            _B
            + r"(?P<n>"
            + _EN_WORD_NUM
            + r")\s+(?P<unit>days?|weeks?|months?|years?)\s+(?:from\s+(?:now|today)|later|out)"
            + _E
        ),
        _h_en_in,
    ),
    (re.compile(_B + r"(?P<n>" + _EN_WORD_NUM + r")\s+(?P<unit>days?|weeks?|months?|years?)\s+ago" + _E), _h_en_ago),
    (
        re.compile(
            _B
            + r"(?:(?:by\s+)?(?:the\s+)?(?:end|beginning|start|middle|mid|early)(?:\s+of)?\s+(?:the\s+)?(?:next\s+|this\s+|last\s+)?(?:week|month|year)|(?:next|last|previous|this)\s+(?:week(?:end)?|month|year)|(?:the\s+)?weekend|eow|eom|eoy|mid-?(?:month|week))"  # noqa: E501
            + _E
        ),
        _h_en_period,
    ),
    (
        re.compile(_B + r"(?P<which>end|beginning|start|mid|middle|early|late)(?:\s+of|-)?\s+" + _MON + _E),
        _h_en_end_of_month_name,
    ),
    (
        re.compile(_B + _MON + r"\s+(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?" + _E),
        _h_en_month_day,
    ),
    (
        re.compile(
            _B + r"(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MON + r"(?:,?\s+(?P<y>\d{4}))?" + _E
        ),
        _h_en_month_day,
    ),
    (
        re.compile(
            _B
            + r"(?P<pre>(?:on|by|before|until|for|from|next|last|due)\s+)?(?:the\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)(?:\s+(?:of\s+)?this\s+month)?"  # noqa: E501
            + _E
        ),
        _h_en_ordinal,
    ),
    (
        re.compile(
            _B
            + r"(?:ngay\s+)?(?:le\s+)?(?:giang\s+sinh|noel|christmas|xmas|new\s+year'?s?\s+day|tet\s+duong\s+lich)"
            + _E
        ),
        _h_holiday,
    ),
    (re.compile(_B + r"mua\s+(?P<s>xuan|he|thu|dong)(?:\s+(?:nay|nam nay))?" + _E), _h_season),
]

# Cheap gate: skip the regex list when no date word or digit is present at all.
_GATE = re.compile(
    r"\d|nay|qua|kia|mai|mot|thu|chu|cn|tuan|thang|nam|quy|ngay|mung|mong|tomorrow|tmr|today|tonight|yester|yday|"
    r"morning|evening|afternoon|night|mon|tue|wed|fri|sat|sun|week|month|year|eo[wmyd]|jan|feb|mar|apr|may|jun|jul|"
    r"aug|sep|oct|nov|dec|noel|christmas|xmas|giang|mua|ago|couple|few|2morrow|sau|trong"
)


def find_dates(original: str, folded: str, today: date, language: str) -> list[DateMention]:
    """Find and resolve every date expression, in order of appearance, without overlaps."""
    if not _GATE.search(folded):
        return []
    ctx = _Ctx(today, language, original, folded)
    found: list[DateMention] = []
    for pattern, handler in _PATTERNS:
        for m in pattern.finditer(folded):
            if m.end() == m.start():
                continue
            got = handler(m, ctx)
            if got is not None:
                found.append(got)
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    kept: list[DateMention] = []
    for d in found:
        if kept and d.start < kept[-1].end:
            continue
        kept.append(d)
    return kept


def tense_of(mention: DateMention, today: date) -> Tense | None:
    """Return the mention's tense, from its words or else from its date."""
    if mention.tense_hint is not None:
        return mention.tense_hint
    if mention.value is None:
        return None
    return _tense_of(mention.value, today)

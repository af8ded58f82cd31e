"""People, companies, phones and e-mails in log messages."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from crm_core.understanding import vocabulary
from crm_core.understanding.text import fold

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|/|[(),.;:!?&@+\n-]")

PHONE_RE = re.compile(r"(?<![\w+])(?:\+\s?\d{1,3}[\s.-]?)?\(?\d{2,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w])")
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A web address: with its scheme or "www.", or a bare domain under a common ending followed by a path.
URL_RE = re.compile(
    r"(?i)(?:\bhttps?://|\bwww\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:vn|com|net|org|io|info|biz|edu|gov|me|co)\b/[^\s<>\"']*"
)


@dataclass(frozen=True, slots=True)
class Word:
    """A word of the original text with its folded form and span."""

    text: str
    folded: str
    start: int
    end: int

    @property
    def is_cap(self) -> bool:
        """Tell whether the word starts with a capital letter."""
        return self.text[:1].isupper()

    @property
    def is_alpha(self) -> bool:
        """Tell whether the word is made of letters."""
        return self.text[:1].isalpha()


def words_of(original: str, folded: str) -> list[Word]:
    """Split the text into words with their folded forms (blanked parts of `folded` are skipped)."""
    return [Word(original[m.start() : m.end()], m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(folded)]


# ---------------------------------------------------------------- phone, e-mail


def find_phone(original: str) -> tuple[str, int, int] | None:
    """Return the first phone number, normalised (+84… for Vietnamese numbers), and its span."""
    for m in PHONE_RE.finditer(original):
        raw = m.group()
        digits = re.sub(r"\D", "", raw)
        plus = raw.lstrip().startswith("+")
        if plus and digits.startswith("84"):
            rest = digits[2:].lstrip("0")
            if 9 <= len(rest) <= 10:
                return "+84" + rest, m.start(), m.end()
            continue
        if plus:
            if 8 <= len(digits) <= 15:
                return "+" + digits, m.start(), m.end()
            continue
        if digits.startswith("84") and len(digits) in (11, 12) and not raw.startswith("0"):
            return "+84" + digits[2:], m.start(), m.end()
        if digits.startswith("0") and len(digits) in (10, 11) and digits[1] != "0":
            if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
                continue  # 4.500.000 is money, not a phone
            return "+84" + digits[1:], m.start(), m.end()
    return None


def find_email(original: str) -> tuple[str, int, int] | None:
    """Return the first e-mail address and its span."""
    m = EMAIL_RE.search(original)
    if m is None:
        return None
    return m.group().rstrip(".").lower(), m.start(), m.end()


def find_urls(original: str) -> list[tuple[int, int]]:
    """Return the spans of the web addresses in a text: the words inside one ("docs.google.com/document",
    "anphat.vn/An-Phat") name no contact, company, date or amount."""
    return [(m.start(), m.end()) for m in URL_RE.finditer(original)]


# ---------------------------------------------------------------- vocabulary

# The word lists live in data/people.json and data/companies.json (see data/README.md); each is read
# once, here, so the matching below tests membership in plain frozensets.
_NOT_NAME = vocabulary.words("not_a_name")
_STOP_AFTER_NAME = vocabulary.words("name_stop")
_CAP_NOT_NAME = vocabulary.words("capitalised_not_a_name")
_VI_NOT_NAME = vocabulary.words("not_a_name_accented")
_VI_STYLE_NOT_NAME = vocabulary.words("vi_style_not_a_name")
_SURNAMES = vocabulary.words("surnames")
_STRONG_SURNAMES = vocabulary.words("strong_surnames_accented")
_MID_NAMES = vocabulary.words("middle_names")
_NAME_SECOND = vocabulary.words("second_given_names")

_PLAIN_HONORIFICS = vocabulary.words("plain_honorifics")
_EN_HONORIFICS = vocabulary.words("en_honorifics")
_HON_SHORT = vocabulary.words("vi_short_honorifics")
# folded form -> the accented spelling that makes it an honorific ("co" is one only as "cô")
_HON_ACCENTED = {fold(word): word for word in vocabulary.words("honorifics_accented")}
_TITLE_WORDS = vocabulary.words("title_words")

_EN_CUES = vocabulary.words("contact_cues_en")
_STRONG_EN_CUES = vocabulary.words("en_contact_verbs_past")
_VI_CUES = vocabulary.words("contact_cues_vi")
_EN_CHANNEL_CUES = vocabulary.words("channel_cues")
_BETWEEN_CUE_AND_NAME = vocabulary.words("words_between_cue_and_name")
_COMM_NOUNS = vocabulary.words("comm_nouns")
_BREAK_CAP_VI = vocabulary.words("capitalised_breaks_accented")
_DATE_CAP = vocabulary.words("capitalised_date_words_accented")

_COMPANY_WORDS = vocabulary.words("company_words")
_STRONG_TRIGGERS = vocabulary.phrases("company_triggers_strong")
_WEAK_TRIGGERS = vocabulary.phrases("company_triggers_weak")
# a one-word trigger counts when typed with its accents or without any ("bên", "ben"; not "bến")
_TRIGGER_ACCENTS = {fold(word): {word, fold(word)} for word in vocabulary.words("company_triggers_accented")}
_PLACE_NOT_COMPANY = vocabulary.words("places_not_companies")
_TRAIL_DROP = vocabulary.words("company_trailing_drop")
_PLACE_SET = vocabulary.words("places")
_LOWER_VERBS = vocabulary.words("lowercase_company_stops")
_CLEAR_BOUNDARY = vocabulary.words("clear_boundaries")
_RUN_LEAD_DROP = vocabulary.words("run_lead_drop")


def _not_name(word: Word, style: str = "en") -> bool:
    low = word.text.lower()
    if low in _VI_NOT_NAME:
        return True
    if style == "vi":
        return word.folded in _VI_STYLE_NOT_NAME
    return word.folded in _CAP_NOT_NAME and (low == word.folded or word.folded in {"cty", "tnhh", "gd", "tp"})


def _is_honorific(words: list[Word], i: int, language: str) -> str | None:
    """Return "vi" or "en" when word i is an honorific before a name."""
    w = words[i]
    f = w.folded
    nxt = words[i + 1] if i + 1 < len(words) else None
    if nxt is not None and nxt.text == "." and f in _EN_HONORIFICS:
        nxt = words[i + 2] if i + 2 < len(words) else None
    if nxt is None or not nxt.is_alpha:
        return None
    if f in _EN_HONORIFICS:
        return "en"
    if w.is_cap and language == "en" and i > 0 and words[i - 1].is_alpha:
        return None  # "met Anh from Vietcombank": a name, not an honorific
    if f in _PLAIN_HONORIFICS:
        if f == "anh" and w.is_cap and i > 0 and words[i - 1].is_cap and words[i - 1].is_alpha:
            return None  # "Lan Anh", "Việt Anh": part of a name
        return "vi" if nxt.is_cap or nxt.folded not in _NOT_NAME else None
    if f in _HON_ACCENTED:
        low = w.text.lower()
        if low == _HON_ACCENTED[f]:
            return "vi" if nxt.is_cap or nxt.folded not in _NOT_NAME else None
        return "vi" if low == f and nxt.is_cap and f not in {"co", "ban"} else None
    if f in _HON_SHORT and w.text.islower():
        if nxt.is_cap:
            return "vi" if language == "vi" or not _not_name(nxt) else None
        return "vi" if language == "vi" and nxt.folded not in _NOT_NAME else None
    return None


def _title(text: str) -> str:
    return " ".join(p[:1].upper() + p[1:] if p.islower() else p for p in text.split())


@dataclass(frozen=True, slots=True)
class Span:
    """A name found in the text."""

    text: str
    start: int
    end: int
    cue: str  # "honorific", "at", "verb", "weak", "trigger", "after"


_CUE_RANK = {"honorific": 0, "verb": 1, "at": 2, "weak": 3}


def _cap_run(words: list[Word], i: int, limit: int) -> int:
    """Return the end of the run of adjacent capitalised words starting at i."""
    j = i
    while j < len(words) and j - i < limit and words[j].is_alpha and words[j].is_cap:
        if j > i and words[j].start > words[j - 1].end + 1:
            break
        low = words[j].text.lower()
        if j > i and (low in _BREAK_CAP_VI or (_not_name(words[j]) and low not in {"anh", "em"})):
            break
        if j > i and words[j].text.isupper() and len(words[j].text) > 1:
            break
        j += 1
    return j


def _name_run(words: list[Word], i: int, style: str, all_lower: bool) -> tuple[int, int] | None:
    """Return [i, j) of the person name starting at word i."""
    if i >= len(words) or not words[i].is_alpha:
        return None
    first = words[i]
    if first.is_cap:
        blocked = (first.folded in _CAP_NOT_NAME) if style == "en" else _not_name(first, "vi")
        if blocked or first.text.lower() in _DATE_CAP:
            return None
        if style == "vi" and _surname_led(words, i):
            j = i + 1
            while j < len(words) and j - i < 4 and words[j].is_alpha and words[j].is_cap:
                j += 1
            return i, j
        j = _cap_run(words, i, 3 if style == "en" else 4)
        if style == "vi":
            if j - i == 2 and words[i + 1].folded in _NAME_SECOND:
                return i, j
            return i, i + 1
        if words[j - 1].folded in _COMPANY_WORDS:
            return None
        return i, j
    if first.folded in _NOT_NAME or first.folded in _STOP_AFTER_NAME or first.text.isdigit():
        return None
    if style == "en" and not all_lower:
        return None
    j = i + 1
    if first.folded in _SURNAMES and i + 1 < len(words) and words[i + 1].is_alpha:
        k = i + 1
        while k < len(words) and k - i < 4 and words[k].is_alpha and words[k].folded in _MID_NAMES:
            k += 1
        if k < len(words) and words[k].is_alpha and words[k].folded not in _STOP_AFTER_NAME and k > i + 1:
            j = k + 1
    elif style == "en" and i + 1 < len(words) and words[i + 1].is_alpha:
        nxt = words[i + 1].folded
        if nxt not in _STOP_AFTER_NAME and nxt not in _NOT_NAME and nxt not in _EN_CUES and len(nxt) > 1:
            j = i + 2
    return i, j


def _surname_led(words: list[Word], i: int) -> bool:
    """Tell whether a capitalised run at i is a full Vietnamese name ("Nguyễn Văn An", "Mai Thị Hoa")."""
    if i + 1 >= len(words) or not (words[i + 1].is_alpha and words[i + 1].is_cap):
        return False
    if words[i].text.lower() in _STRONG_SURNAMES:
        return True
    return (
        words[i].folded in _SURNAMES
        and words[i + 1].folded in _MID_NAMES
        and i + 2 < len(words)
        and words[i + 2].is_cap
    )


def _span(words: list[Word], a: int, b: int, cue: str) -> Span:
    text = " ".join(words[k].text for k in range(a, b))
    return Span(_title(text), words[a].start, words[b - 1].end, cue)


def find_contacts(words: list[Word], language: str) -> list[Span]:
    """Find person names: after honorifics ("a Minh", "chị Lan", "Mr. Smith"), before "at Acme", after verbs."""
    all_lower = not any(w.is_cap for w in words[1:] if w.is_alpha)
    out: list[Span] = []
    n = len(words)
    taken: set[int] = set()
    for i, w in enumerate(words):
        if not w.is_alpha or i in taken:
            continue
        start_i: int | None = None
        style = ""
        cue = ""
        if w.folded == "a" and i + 2 < n and words[i + 1].text == "/" and words[i + 2].folded == "c":
            start_i, style, cue = i + 3, "vi", "honorific"
        else:
            hon = _is_honorific(words, i, language)
            if hon is not None:
                start_i, style, cue = i + 1, hon, "honorific"
                if start_i < n and words[start_i].text == ".":
                    start_i += 1
                k = start_i
                while k < n and not words[k].is_cap and k - start_i < 3 and words[k].folded in _TITLE_WORDS:
                    k += 1
                if start_i < k < n and words[k].is_alpha:
                    start_i = k
            elif (
                w.folded in _EN_CUES
                or w.folded in _VI_CUES
                or w.folded in _EN_CHANNEL_CUES
                or w.text.lower().endswith(("'d", "’d"))
                or (w.folded == "from" and i > 0 and words[i - 1].folded in _COMM_NOUNS)
            ):
                k = i + 1
                while k < n and k - i < 4 and words[k].folded in _BETWEEN_CUE_AND_NAME:
                    k += 1
                lower_ok = all_lower and language == "en" and w.folded in _STRONG_EN_CUES
                if k < n and words[k].is_alpha and (words[k].is_cap or lower_ok):
                    start_i, style, cue = k, "en" if language == "en" else "vi", "verb"
                    if words[k].is_cap and language == "vi" and w.folded in _EN_CUES and w.folded not in _VI_CUES:
                        style = "en"
        if start_i is None:
            continue
        run = _name_run(words, start_i, style, all_lower)
        if run is None:
            continue
        a, b = run
        if cue == "verb" and not words[a].is_cap and not all_lower:
            continue
        if cue == "verb" and words[a].text.isupper() and len(words[a].text) > 1:
            continue
        out.append(_span(words, a, b, cue))
        taken.update(range(a, b))
    out.extend(_at_pattern(words, taken, all_lower))
    if language == "en" and not all_lower:
        out.extend(_weak_caps(words, taken))
    out.sort(key=lambda s: (_CUE_RANK.get(s.cue, 9), s.start))
    return out


def _at_pattern(words: list[Word], taken: set[int], all_lower: bool) -> list[Span]:
    """ "Raj at Infosys", "Anna (Northwind)": a name right before a company cue."""
    out: list[Span] = []
    n = len(words)
    for i, w in enumerate(words):
        if not (w.is_alpha and w.is_cap) or i in taken or _not_name(w) or w.text.isupper() or w.folded in _EN_CUES:
            continue
        prev = words[i - 1] if i > 0 else None
        if prev and prev.is_alpha and prev.is_cap and prev.end + 1 >= w.start and prev.folded not in _EN_CUES:
            continue
        j = _cap_run(words, i, 3)
        if any(k in taken for k in range(i, j)):
            continue
        if words[j - 1].folded in _COMPANY_WORDS:
            continue
        nxt = words[j] if j < n else None
        if nxt is None:
            continue
        if nxt.folded in {"at", "from", "of", "@"} or (nxt.text == "(" and j + 1 < n and words[j + 1].is_cap):
            if i > 0 and words[i - 1].folded in {"at", "from", "of", "@", "cty", "ben", "tai"}:
                continue
            out.append(_span(words, i, j, "at"))
            taken.update(range(i, j))
    return out


def _weak_caps(words: list[Word], taken: set[int]) -> list[Span]:
    out: list[Span] = []
    for i, w in enumerate(words):
        if not (w.is_alpha and w.is_cap) or i in taken or _not_name(w) or w.text.isupper() or "'" in w.text:
            continue
        if any(ch.isupper() for ch in w.text[1:]):
            continue  # "ExFlex", "iPhone": product names, not people
        prev = words[i - 1] if i > 0 else None
        if prev is None or prev.text in {".", "!", "?", "\n"} or (prev.is_cap and prev.is_alpha):
            continue  # sentence starts and the middle of a longer capitalised run
        if prev.folded in _EN_CUES:
            continue
        if words[i - 1].folded in {"at", "from", "of", "@", "for", "the"}:
            continue
        j = _cap_run(words, i, 3)
        if words[j - 1].folded in _COMPANY_WORDS:
            continue
        out.append(_span(words, i, j, "weak"))
        taken.update(range(i, j))
    return out


def _index_triggers() -> dict[str, list[tuple[tuple[str, ...], bool]]]:
    index: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    for strong, triggers in ((True, _STRONG_TRIGGERS), (False, _WEAK_TRIGGERS)):
        for trig in triggers:
            index.setdefault(trig[0], []).append((trig, strong))
    return index


_TRIGGER_INDEX = _index_triggers()


def _trigger_at(words: list[Word], i: int) -> tuple[int, bool] | None:
    """Return (first word after the trigger, strong?) when a company cue starts at word i."""
    for trig, strong in _TRIGGER_INDEX.get(words[i].folded, ()):
        if len(trig) > 1 and tuple(x.folded for x in words[i : i + len(trig)]) != trig:
            continue
        allowed = _TRIGGER_ACCENTS.get(trig[0]) if len(trig) == 1 else None
        if allowed is not None and words[i].text.lower() not in allowed:
            continue
        if trig == ("from",) and i > 0 and words[i - 1].folded in _COMM_NOUNS:
            continue  # "sms from Mark": a person
        return i + len(trig), strong
    return None


def _company_run(words: list[Word], k: int, strong: bool, all_lower: bool, language: str = "vi") -> list[Word]:
    n = len(words)
    parts: list[Word] = []
    lower_mode = k < n and words[k].is_alpha and not words[k].is_cap and not words[k].text.isupper()
    if lower_mode and not (strong or all_lower):
        return []
    limit = 4 if lower_mode else 6
    if lower_mode and not strong and language == "en":
        limit = 2
    while k < n and len(parts) < limit:
        x = words[k]
        if parts and x.start > parts[-1].end + 1 and not (x.text in {"&"} or parts[-1].text in {"&", "-"}):
            break
        if x.text in {"&", "-"} and parts and k + 1 < n and words[k + 1].is_alpha and words[k + 1].is_cap:
            parts.append(x)
            k += 1
            continue
        if x.text == "." and parts and parts[-1].folded in {"co", "jsc", "ltd", "inc", "corp"}:
            k += 1
            continue
        if x.text.isdigit() and k + 1 < n and words[k + 1].start == x.end and words[k + 1].is_alpha:
            break  # "Unilever 9h": a time, not part of the name
        if not (x.is_alpha or x.text.isdigit()):
            break
        if x.is_cap and parts and x.text.lower() in _BREAK_CAP_VI:
            break
        if not x.is_cap and x.folded in _STOP_AFTER_NAME | _NOT_NAME and x.folded not in _COMPANY_WORDS:
            ok_so = x.folded == "so" and k + 1 < n and words[k + 1].text.isdigit()
            if not (x.folded in {"va", "and"} and k + 1 < n and words[k + 1].is_cap) and not ok_so:
                break
        if lower_mode and x.folded in _EN_CUES:
            break
        parts.append(x)
        k += 1
    if not lower_mode:
        while parts and not (parts[-1].is_cap or parts[-1].text.isdigit() or parts[-1].folded in _COMPANY_WORDS):
            parts.pop()
    return parts


def _clean_company(parts: list[Word]) -> list[Word]:
    while parts and parts[0].folded in {"tnhh", "cp", "mtv", "jsc"}:
        parts = parts[1:]
    if len(parts) >= 2 and parts[0].folded == "co" and parts[1].folded == "phan":
        parts = parts[2:]
    while parts and parts[0].folded in {"tnhh", "cp", "mtv"}:
        parts = parts[1:]
    while len(parts) > 1 and parts[-1].folded in _TRAIL_DROP | {"&", "-", "va", "and"}:
        parts = parts[:-1]
    return parts


def _is_place(text: str) -> bool:
    key = fold(text)
    return key in _PLACE_SET or key.replace(".", "") in _PLACE_SET


def find_companies(words: list[Word], language: str) -> list[Span]:
    """Find company names after cues ("công ty", "cty", "bên", "tại", "trường", "from", "at")."""
    all_lower = not any(w.is_cap for w in words[1:] if w.is_alpha)
    out: list[Span] = []
    n = len(words)
    i = 0
    while i < n:
        got = _trigger_at(words, i)
        if got is None:
            i += 1
            continue
        k, strong = got
        if (
            not strong
            and k < n
            and (not words[k].is_alpha or (not words[k].is_cap and words[k].folded in _PLACE_NOT_COMPANY))
        ):
            i = k
            continue
        parts = _clean_company(_company_run(words, k, strong, all_lower, language))
        if not parts or (len(parts) == 1 and (_not_name(parts[0]) or parts[0].text.lower() in _BREAK_CAP_VI)):
            i = k
            continue
        text = _join(parts)
        if not strong and _is_place(text):
            i = k
            continue
        out.append(Span(_title(text) if text.islower() else text, parts[0].start, parts[-1].end, "trigger"))
        i = k + len(parts)
    return out


_CUSTOMER_WORDS = vocabulary.words("customer_words")


def company_after_customer_word(words: list[Word]) -> list[Span]:
    """Find "Khách Trung Nguyên", "khach hang Phu Thai": two or more capitalised words after "khách" are one company."""
    out: list[Span] = []
    n = len(words)
    for i, w in enumerate(words):
        if w.folded not in _CUSTOMER_WORDS or w.text.lower() not in {"khách", "khach", "kh"}:
            continue
        k = i + 1
        if w.folded == "khach" and k < n and words[k].folded == "hang" and not words[k].is_cap:
            k += 1
        if k >= n or not (words[k].is_alpha and words[k].is_cap) or _surname_led(words, k) or _not_name(words[k], "vi"):
            continue
        j = _cap_run(words, k, 5)
        if j - k >= 2:
            out.append(_span(words, k, j, "trigger"))
    return out


def company_word_runs(words: list[Word]) -> list[Span]:
    """Find capitalised runs ending in a company word ("Blue Ocean Seafood", "Prestige Worldwide")."""
    out: list[Span] = []
    n = len(words)
    i = 0
    while i < n:
        w = words[i]
        if not (w.is_alpha and (w.is_cap or w.text.isupper())):
            i += 1
            continue
        j = i
        while (
            j < n
            and j - i < 5
            and words[j].is_alpha
            and (words[j].is_cap or words[j].text.isupper() or words[j].text == "&")
        ):
            if j > i and words[j].start > words[j - 1].end + 1:
                break
            j += 1
        parts = words[i:j]
        while parts and (parts[0].folded in _RUN_LEAD_DROP or _not_name(parts[0])):
            parts = parts[1:]
        if len(parts) >= 2 and parts[-1].folded in _COMPANY_WORDS and parts[-1].folded not in {"hq", "office"}:
            out.append(Span(_join(parts), parts[0].start, parts[-1].end, "trigger"))
        i = max(j, i + 1)
    return out


def capitalised_runs(words: list[Word]) -> list[Span]:
    """Find runs of two or more adjacent capitalised words not at the start of the text ("… tủ, Minh Long")."""
    out: list[Span] = []
    i = 1
    while i < len(words):
        if not (words[i].is_alpha and words[i].is_cap):
            i += 1
            continue
        j = _cap_run(words, i, 5)
        parts = words[i:j]
        while parts and (parts[0].folded in _RUN_LEAD_DROP or _not_name(parts[0])):
            parts = parts[1:]
        if len(parts) >= 2:
            out.append(Span(_join(parts), parts[0].start, parts[-1].end, "weak"))
        i = max(j, i + 1)
    return out


def full_name_in_parentheses(words: list[Word], contact: Span) -> Span | None:
    """Read "chị Ngọc Ánh (Phạm Ngọc Ánh)": a person's full name in parentheses right after their name (three to
    five capitalised words, a family name first, theirs last) is their name, not their company. Two words ("anh
    Long (Hoàng Long)") may well be a company."""
    k = next((n for n, w in enumerate(words) if w.start >= contact.end), None)
    if k is None or words[k].text != "(" or words[k].start > contact.end + 1:
        return None
    j = k + 1
    while j < len(words) and words[j].is_alpha and words[j].is_cap:
        j += 1
    parts = words[k + 1:j]
    if j >= len(words) or words[j].text != ")" or not 3 <= len(parts) <= 5 or parts[0].folded not in _SURNAMES:
        return None
    own = fold(contact.text).split()
    if len(own) >= len(parts) or [w.folded for w in parts[-len(own):]] != own:
        return None
    return Span(_join(parts), parts[0].start, parts[-1].end, contact.cue)


def company_after(words: list[Word], contact: Span, all_lower: bool, casual: bool = False) -> Span | None:
    """Read "a Minh Hòa Phát", "c Lan (ABC)", "c hang vietjet": a company written right after the person."""
    idx = next((k for k, w in enumerate(words) if w.start >= contact.end), None)
    if idx is None:
        return None
    k = idx
    if words[k].text == "(":
        k += 1
        while k < len(words) and not words[k].is_cap and words[k].folded in _TITLE_WORDS:
            k += 1
    elif words[k].start > contact.end + 1:
        return None
    if k >= len(words) or not words[k].is_alpha:
        return None
    first = words[k]
    if first.is_cap or first.text.isupper():
        parts = _company_run(words, k, True, all_lower)
    elif all_lower or casual:
        parts = []
        while k < len(words) and len(parts) < 3 and words[k].is_alpha:
            f = words[k].folded
            if f in _STOP_AFTER_NAME or f in _NOT_NAME or f in _EN_CUES or f in _VI_CUES or f in _LOWER_VERBS:
                break
            parts.append(words[k])
            k += 1
        if parts and k < len(words) and words[k].is_alpha and words[k].folded not in _CLEAR_BOUNDARY:
            return None  # not followed by a clear boundary: likely the rest of a sentence
    else:
        return None
    parts = _clean_company(parts)
    if not parts or (len(parts) == 1 and parts[0].text.lower() in _BREAK_CAP_VI):
        return None
    text = _join(parts)
    if _is_place(text):
        return None
    return Span(_title(text) if text.islower() else text, parts[0].start, parts[-1].end, "after")


def _join(parts: list[Word]) -> str:
    text = parts[0].text
    for prev, cur in itertools.pairwise(parts):
        text += (" " if cur.start > prev.end else "") + cur.text
    return text


# ---------------------------------------------------------------- known names


class NameMatcher:
    """Finds known names in folded text: every name by its folded spelling and company-word-less variant.

    A dictionary, not one regular expression of every name: compiling an alternation of 10,000
    names took ~100 ms each time the directory changed; looking up slices costs microseconds,
    and a matcher grows by the names added since (`extended`) without indexing the others again.
    """

    def __init__(self, by_fold: dict[str, list[str]]) -> None:
        self._by_fold = by_fold
        self._lengths = tuple(sorted({len(k) for k in by_fold}, reverse=True))

    @classmethod
    def of(cls, names: Iterable[str]) -> NameMatcher:
        """Index `names`."""
        return cls({}).extended(names)

    def extended(self, names: Iterable[str]) -> NameMatcher:
        """Return a matcher that also knows `names` (this one is left as it is)."""
        by_fold = dict(self._by_fold)
        for name in names:
            for variant in _company_variants(fold(name).strip()):
                if not variant:
                    continue
                spellings = by_fold.get(variant, [])
                if name not in spellings:
                    by_fold[variant] = [*spellings, name]  # copied, never changed in place: shared with self
        return NameMatcher(by_fold)

    def find(self, folded: str) -> list[tuple[str, int, int]]:
        """Return (existing spelling, start, end) of the known names in `folded`, left to right.

        At each word start the longest known name that ends at a word end wins, and the search goes
        on after it (as a regular expression alternation of the names, longest first, would).
        """
        out: list[tuple[str, int, int]] = []
        position, size = 0, len(folded)
        while position < size:
            at_word_start = position == 0 or not _is_word_char(folded[position - 1])
            end = self._name_end(folded, position) if at_word_start else None
            if end is None:
                position += 1
                continue
            out += [(name, position, end) for name in self._by_fold[folded[position:end]]]
            position = end
        return out

    def _name_end(self, folded: str, start: int) -> int | None:
        """Return where the longest known name starting at `start` ends, if one ends at a word end."""
        for length in self._lengths:
            end = start + length
            if end <= len(folded) and folded[start:end] in self._by_fold and (
                    end == len(folded) or not _is_word_char(folded[end])):
                return end
        return None


def _is_word_char(char: str) -> bool:
    return char in _WORD_CHARS


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_COMPANY_PREFIX = re.compile(r"^(?:cong ty|cty)\s+(?:(?:tnhh|co phan|cp|mtv)\s+)*")
_COMPANY_SUFFIX = re.compile(r"\s+(?:jsc|co\.?,? ?ltd\.?|ltd\.?|llc|inc\.?|corp\.?)$")


def _company_variants(key: str) -> list[str]:
    out = [key]
    core = _COMPANY_SUFFIX.sub("", _COMPANY_PREFIX.sub("", key))
    if core and core != key:
        out.append(core)
    return out


@lru_cache(maxsize=64)
def _matcher(names: tuple[str, ...]) -> NameMatcher:
    return NameMatcher.of(names)


def match_known(folded: str, names: Sequence[str]) -> list[tuple[str, int, int]]:
    """Find known names (accent- and case-insensitive) in folded text: (existing spelling, start, end)."""
    return _matcher(tuple(names)).find(folded) if names else []


def given_name(full: str) -> str:
    """Return the name a person is called by: the last word of a Vietnamese name, else the first."""
    parts = full.split()
    if len(parts) >= 2 and fold(parts[0]) in _SURNAMES:
        return parts[-1]
    return parts[0] if parts else full

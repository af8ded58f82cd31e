"""Length-preserving accent folding and language detection for log messages."""

from __future__ import annotations

import re
import unicodedata

from crm_core.textnorm import nfc


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x41, 0x2000):
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn").lower()
        if len(base) == 1 and base != ch:
            table[code] = base
    table[ord("đ")] = "d"
    table[ord("Đ")] = "d"
    table[ord("\u0130")] = "i"
    return table


_FOLD_TABLE = _build_fold_table()
_VI_MARKED = re.compile("[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")

_VI_WORDS = frozenset(
    [
        "anh",
        "chi",
        "em",
        "co",
        "chu",
        "ong",
        "ba",
        "cty",
        "congty",
        "cong",
        "ty",
        "ben",
        "goi",
        "gap",
        "hop",
        "nhan",
        "tin",
        "bao",
        "gia",
        "khach",
        "mai",
        "mot",
        "tuan",
        "thang",
        "ngay",
        "hom",
        "qua",
        "nay",
        "tr",
        "trieu",
        "ty",
        "ti",
        "nghin",
        "ngan",
        "roi",
        "da",
        "se",
        "cho",
        "voi",
        "la",
        "ko",
        "khong",
        "dc",
        "duoc",
        "cua",
        "hen",
        "sau",
        "truoc",
        "can",
        "phai",
        "chot",
        "ky",
        "hd",
        "hop",
        "dong",
        "don",
        "hang",
        "gui",
        "lai",
        "di",
        "den",
        "ve",
        "tai",
        "thu",
        "cuoi",
        "dau",
        "nua",
        "sang",
        "chieu",
        "toi",
        "trua",
        "luc",
        "gio",
        "nhe",
        "nha",
        "oi",
        "a",
        "c",
        "e",
        "kh",
        "sdt",
        "dt",
        "minh",
        "ban",
        "va",
        "hay",
        "thi",
        "ma",
        "nhu",
        "nhung",
        "cac",
        "mua",
        "ban",
        "nhieu",
        "it",
        "duyet",
        "dam",
        "phan",
        "thuong",
        "luong",
        "giam",
        "tang",
        "lam",
        "nguoi",
        "dang",
        "xem",
        "bo",
        "cai",
        "chiec",
        "may",
        "goi",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "to",
        "with",
        "and",
        "at",
        "for",
        "of",
        "on",
        "in",
        "call",
        "called",
        "calls",
        "met",
        "meet",
        "meeting",
        "meetings",
        "email",
        "emailed",
        "sent",
        "send",
        "next",
        "tomorrow",
        "today",
        "yesterday",
        "week",
        "month",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "his",
        "her",
        "their",
        "will",
        "need",
        "needs",
        "wants",
        "want",
        "about",
        "re",
        "follow",
        "up",
        "quote",
        "proposal",
        "deal",
        "signed",
        "closed",
        "won",
        "lost",
        "price",
        "pricing",
        "discount",
        "asked",
        "said",
        "spoke",
        "talked",
        "texted",
        "message",
        "messaged",
        "from",
        "by",
        "is",
        "was",
        "are",
        "be",
        "has",
        "have",
        "had",
        "this",
        "that",
        "it",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "please",
        "contract",
        "licenses",
        "license",
        "units",
        "each",
        "per",
        "order",
        "budget",
    ]
)
# Short words shared by both languages carry no evidence.
_SHARED = frozenset({"a", "c", "e", "em", "to", "me", "ba", "co", "i"})


def fold(text: str) -> str:
    """Lower-case `text` and strip diacritics without changing its length."""
    return text.translate(_FOLD_TABLE)


def prepare(text: str) -> tuple[str, str]:
    """Return the NFC form of `text` and its same-length folded form."""
    norm = nfc(text)
    folded = fold(norm)
    if len(folded) != len(norm):  # pragma: no cover - the table maps one char to one char
        folded = norm.lower()
    return norm, folded


def has_vietnamese_marks(text: str) -> bool:
    """Tell whether `text` carries Vietnamese diacritics."""
    return _VI_MARKED.search(text) is not None


def detect_language(text: str, folded: str) -> str:
    """Guess "vi" or "en" for a log message."""
    words = _WORD.findall(folded)
    vi = sum(1 for w in words if w in _VI_WORDS and w not in _SHARED)
    en = sum(1 for w in words if w in _EN_WORDS and w not in _SHARED)
    marks = len(_VI_MARKED.findall(text))
    if marks:
        vi += 1 + min(marks, 6)
    if vi == en == 0:
        return "vi" if marks else "en"
    return "vi" if vi >= en else "en"

"""Length-preserving accent folding and language detection for log messages."""

from __future__ import annotations

import re
import unicodedata

from crm_core.textnorm import nfc
from crm_core.understanding import vocabulary


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

# Evidence words per language, from data/language.json; the neutral ones (a, em, to, me…) count for neither.
_VI_WORDS = vocabulary.words("language_vi")
_EN_WORDS = vocabulary.words("language_en")
_SHARED = vocabulary.words("language_neutral")


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
    """Guess "vi" or "en" for a log message: the language most of its words show.

    Each word counts once: a Vietnamese or English evidence word, or a word typed with Vietnamese
    marks. So an English sentence quoting "12 triệu/bộ" stays English, while a Vietnamese one
    typed with its accents has many marked words.
    """
    vi = en = 0
    for m in _WORD.finditer(folded):
        w = m.group()
        if w in _SHARED:
            continue
        if text[m.start() : m.end()].lower() != w:  # typed with marks (folding only drops marks and case)
            vi += 1
            continue
        vi += w in _VI_WORDS
        en += w in _EN_WORDS
    if vi == en == 0:
        # nothing but numbers and short tokens ("150k"): the business's language, Vietnamese
        return "vi" if has_vietnamese_marks(text) or not re.search(r"[a-z]{3,}", folded) else "en"
    return "vi" if vi >= en else "en"

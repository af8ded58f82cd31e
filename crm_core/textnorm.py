"""Text normalisation shared by search, parsing and retrieval."""

from __future__ import annotations

import re
import unicodedata

_WORD_RE = re.compile(r"[0-9a-z]+")
_SPACES_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Return `text` lower-cased without diacritics ("Hòa Phát" -> "hoa phat")."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES_RE.sub(" ", stripped.casefold()).strip()


def nfc(text: str) -> str:
    """Return `text` in NFC, the form Vietnamese input methods disagree on."""
    return unicodedata.normalize("NFC", text)


def fold_tokens(text: str) -> list[str]:
    """Split folded `text` into alphanumeric tokens."""
    return _WORD_RE.findall(fold(text))

"""Whether an admin's message with a link asks the bot to take that page into the knowledge base.

The bot opens no link (a page may say anything, change after it was read, or be private); an admin who sends one
to be learned is asked for the file instead. A bare link is such a request, and so is a sentence around a link
that asks for it to be added, read or learned ("e thêm giúp c trang này vào kho nhé https://…", "please add
https://anphat.vn/faq to the knowledge base"): otherwise it would be read as a sales log. The words are data
(`data/link_requests.json`), matched with and without accents.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from crm_core.textnorm import fold, nfc
from crm_core.understanding.entities import URL_RE

# A request this short around a link ("add pls", "đọc giúp nhé") can only be about the link.
_SHORT_WORDS = 4
_DATA = Path(__file__).resolve().parent / "data" / "link_requests.json"


@cache
def _words() -> dict[str, re.Pattern[str]]:
    """One whole-word pattern per list of the data file."""
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return {name: _any_of(words) for name, words in data.items() if not name.startswith("_")}


def _any_of(words: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])")


def has_link(text: str) -> bool:
    """Tell whether the text holds a web address."""
    return URL_RE.search(text) is not None


def asks_to_add_link(text: str) -> bool:
    """Tell whether a message holds a link and asks for it to be added to, read into or learned by the knowledge."""
    if not has_link(text):
        return False
    rest = URL_RE.sub(" ", text)
    typed, folded = nfc(rest).casefold(), fold(rest)
    words = _words()
    if words["knowledge"].search(folded):
        return True
    verb = words["verb"].search(folded) or words["accented"].search(typed)
    if not (verb and words["ask"].search(folded)):
        return False
    # "thêm giúp anh Minh vào nhóm https://zalo.me/…" asks for something else: the page itself must be meant.
    return bool(words["page"].search(folded)) or len(folded.split()) <= _SHORT_WORDS

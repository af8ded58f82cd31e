"""What a quantity counts: the product phrase written after it, and whether two phrases name one product.

"wants 30 AP-C300 chairs at 4.5tr each" -> "AP-C300 chairs"; "muốn 200 bộ giá 500 triệu" -> "bộ";
"cần 50 ghế AP-C300, gửi mẫu" -> "ghế AP-C300". A deal's title carries it ("Minh Long — 50 ghế AP-C300"),
so a log about another product than the company's open deal can be told apart.
"""

from __future__ import annotations

import re

from crm_core.textnorm import fold
from crm_core.understanding.vocabulary import phrases as phrases_of
from crm_core.understanding.vocabulary import words

PRODUCT_WORDS = 4
TITLE_SEPARATOR = " — "
_TOKEN_RE = re.compile(r"[^\s,;:!?()\[\]]+|[,;:!?()\[\]]")
_COUNT_RE = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$|^\d+$")
_CODE_RE = re.compile(r"[a-z]+[-./]?[a-z]*\d", re.IGNORECASE)


def _count(token: str) -> int | None:
    if not _COUNT_RE.match(token):
        return None
    return int(re.sub(r"[.,]", "", token))


def product_phrase(text: str, quantity: int | None) -> str | None:
    """Return the words after the quantity in `text` that say what it counts (at most four), or None."""
    if not quantity:
        return None
    stops, fillers = words("product_stops"), words("product_fillers_before_amount")
    tokens = _TOKEN_RE.findall(text)
    for i, token in enumerate(tokens):
        if _count(token) != quantity:
            continue
        found: list[str] = []
        for j, raw in enumerate(tokens[i + 1:i + 1 + PRODUCT_WORDS], start=i + 1):
            word = raw.rstrip(".")
            if not word or not word[0].isalpha() or fold(word) in stops:
                break  # punctuation, a price ("4.5tr", "$40"), or a word that starts the next thought
            if fold(word) in fillers and word == raw and _amount_follows(tokens, j):
                break  # "tầm 140tr": the amount's "about", not the product's word
            found.append(word)
            if word != raw:
                break  # the sentence ended
        if found:
            return " ".join(found)
    return None


def _amount_follows(tokens: list[str], index: int) -> bool:
    """Tell whether the token after `index` is a number or an amount ("140tr", "1,5tr", "$40")."""
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    return bool(following) and (following[0].isdigit() or following[0] in "$€£₫")


def quantity_is_more(text: str, quantity: int | None) -> bool:
    """Tell whether `text` asks for `quantity` more ("cần thêm 10 bộ", "10 more chairs"), not a new total."""
    if not quantity:
        return False
    tokens = [fold(t) for t in _TOKEN_RE.findall(text)]
    before, after = phrases_of("quantity_more_before"), words("quantity_more_after")
    for i, token in enumerate(tokens):
        if _count(token) != quantity:
            continue
        if i + 1 < len(tokens) and tokens[i + 1] in after:
            return True
        if any(tuple(tokens[max(0, i - len(p)):i]) == p for p in before):
            return True
    return False


def title_product(title: str) -> tuple[int | None, str | None]:
    """Read the quantity and product of a deal's title ("Hòa Phát — 185 bộ bàn AP-D120" -> (185, "bộ bàn AP-D120"))."""
    if TITLE_SEPARATOR not in title:
        return None, None
    tail = title.rsplit(TITLE_SEPARATOR, 1)[1].split()
    count = _count(tail[0]) if tail else None
    rest = " ".join(tail[1:] if count is not None else tail)
    return count, rest or None


def deal_title(company: str, quantity: int | None, product: str | None) -> str:
    """Title a new deal by its company, quantity and product ("Minh Long — 50 ghế AP-C300")."""
    if not quantity:
        return company
    return f"{company}{TITLE_SEPARATOR}{quantity}{' ' + product if product else ''}"


def _signature(phrase: str) -> tuple[set[str], set[str]]:
    counting = words("product_counting_words")
    tokens = fold(phrase).split()
    codes = {re.sub(r"[-./]", "", t) for t in tokens if _CODE_RE.search(t)}
    nouns = {t.rstrip("s") for t in tokens if t not in counting and t.rstrip("s") not in counting
             and not _CODE_RE.search(t)}
    return codes, nouns


def same_product(first: str | None, second: str | None) -> bool | None:
    """Tell whether two product phrases name one product (model codes decide first); None when unknown."""
    if not first or not second:
        return None
    codes_a, nouns_a = _signature(first)
    codes_b, nouns_b = _signature(second)
    if codes_a and codes_b:
        return bool(codes_a & codes_b)
    if nouns_a and nouns_b:
        return bool(nouns_a & nouns_b)
    return None

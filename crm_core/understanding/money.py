"""Money mentions: "500tr", "1,2 tỷ", "2 tỷ 300 triệu", "$40", "€250k", "50 licenses at $40 each"."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crm_core.understanding import vocabulary
from crm_core.understanding.numbers import (
    EN_MULT,
    EN_SMALL,
    MAX_VALUE,
    VI_DIGITS,
    VI_MULT,
    Token,
    en_words_value,
    parse_digits,
    tokenize,
    vi_words_value,
)

# Words that can open an English number ("fifty", "a hundred"): where a money phrase may start.
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_NUMBER_STARTS = (frozenset(EN_SMALL) - {"zero"}) | {*_EN_TENS, "hundred", "a", "an"}

# Multipliers written right after a number.
_SUFFIX_MULT: dict[str, int] = {
    "k": 1000,
    "nghin": 1000,
    "ngan": 1000,
    "ng": 1000,
    "thousand": 1000,
    "tr": 10**6,
    "trieu": 10**6,
    "cu": 10**6,
    "m": 10**6,
    "mil": 10**6,
    "mio": 10**6,
    "million": 10**6,
    "millions": 10**6,
    "ty": 10**9,
    "ti": 10**9,
    "b": 10**9,
    "bn": 10**9,
    "bil": 10**9,
    "billion": 10**9,
    "t": 10**6,
}
_VND_ONLY_MULT = vocabulary.words("vnd_only_multipliers")
_PREFIX_CCY: dict[str, str] = {
    "$": "USD",
    "usd": "USD",
    "us": "USD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "vnd": "VND",
    "vn": "VND",
    "₫": "VND",
    "sgd": "SGD",
    "s": "SGD",
    "inr": "INR",
    "rs": "INR",
    "aed": "AED",
    "cny": "CNY",
    "rmb": "CNY",
    "krw": "KRW",
    "thb": "THB",
    "aud": "AUD",
}
_SUFFIX_CCY: dict[str, str] = {
    "$": "USD",
    "usd": "USD",
    "do": "USD",
    "dola": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "yen": "JPY",
    "vnd": "VND",
    "₫": "VND",
    "d": "VND",
    "dong": "VND",
    "vnđ": "VND",
    "sgd": "SGD",
    "inr": "INR",
    "rs": "INR",
    "rupees": "INR",
    "rupee": "INR",
    "aed": "AED",
    "dirham": "AED",
    "dirhams": "AED",
    "cny": "CNY",
    "rmb": "CNY",
    "te": "CNY",
    "krw": "KRW",
    "won": "KRW",
    "thb": "THB",
    "baht": "THB",
    "aud": "AUD",
    "xu": "USD",
    "xen": "USD",
    "cent": "USD",
    "cents": "USD",
}
_CENTS = frozenset({"xu", "xen", "cent", "cents"})
# Words near a bare number that make it money ("giá 4500000", "budget 12000"), from data/amounts.json.
_CONTEXT_WORDS = vocabulary.words("money_context_words")


@dataclass(frozen=True, slots=True)
class Money:
    """One money mention."""

    value: Decimal
    currency: str | None
    start: int
    end: int
    explicit_currency: bool


def _mult_at(toks: list[Token], i: int, original: str) -> int | None:
    if i >= len(toks):
        return None
    w = toks[i].text
    if w not in _SUFFIX_MULT:
        return None
    if w == "m" and original[toks[i].start] != "M" and (i + 1 >= len(toks) or toks[i + 1].text not in _PREFIX_CCY):
        # a lower-case "m" after a number is metres or minutes far more often than millions
        return None
    if w == "t" and (i + 1 < len(toks) and toks[i + 1].text.isalpha()):
        return None
    spaced = toks[i].start != toks[i - 1].end
    # "500 củ" is slang for 500 triệu; a spaced "cu" without its accent is not
    cu_typed = w == "cu" and original[toks[i].start : toks[i].end].lower() == "củ"
    if w in {"b", "t", "ng", "cu"} and spaced and not cu_typed:
        return None
    return _SUFFIX_MULT[w]


def _suffix_currency(toks: list[Token], i: int, original: str) -> tuple[str, int] | None:
    if i >= len(toks):
        return None
    w = toks[i].text
    if w == "d":
        ch = original[toks[i].start]
        if ch not in "đĐ" and toks[i].start != toks[i - 1].end:
            return None
        if i + 1 < len(toks) and toks[i + 1].text.isalpha() and toks[i + 1].start == toks[i].end:
            return None
        return "VND", i + 1
    if w == "do" and original[toks[i].start] not in "đĐ":
        return None
    if w == "vn" and i + 1 < len(toks) and toks[i + 1].text == "d":
        return "VND", i + 2
    if w == "do" and i + 1 < len(toks) and toks[i + 1].text == "la":
        return "USD", i + 2
    if w == "do" and i + 1 < len(toks) and toks[i + 1].text == "my":
        return "USD", i + 2
    if w in _SUFFIX_CCY:
        return _SUFFIX_CCY[w], i + 1
    return None


def _prefix_currency(toks: list[Token], i: int) -> tuple[str, int] | None:
    """Currency written before the number at `i`; returns (code, index of first currency token)."""
    if i == 0:
        return None
    p = toks[i - 1]
    if p.text == "rs" and p.end >= toks[i].start - 1:
        return "INR", i - 1
    if p.text in _PREFIX_CCY and p.end >= toks[i].start - 1:
        if p.text in {"us", "s", "vn"}:
            return None
        code = _PREFIX_CCY[p.text]
        if i >= 2 and p.text == "$" and toks[i - 2].text in {"us", "s", "vn"} and toks[i - 2].end == p.start:
            return _PREFIX_CCY[toks[i - 2].text], i - 2
        return code, i - 1
    if p.text in {"rs"}:
        return "INR", i - 1
    if i >= 2 and p.text == "." and toks[i - 2].text == "rs":
        return "INR", i - 2
    return None


_VI_NUMBER_SPELLINGS = frozenset(
    [
        "không",
        "một",
        "mốt",
        "hai",
        "ba",
        "bốn",
        "tư",
        "năm",
        "lăm",
        "nhăm",
        "sáu",
        "bảy",
        "bẩy",
        "tám",
        "chín",
        "mười",
        "mươi",
        "trăm",
        "nghìn",
        "ngàn",
        "triệu",
        "tỷ",
        "tỉ",
        "linh",
        "lẻ",
        "rưỡi",
        "chục",
    ]
)
_DECIMAL_WORDS = frozenset({"cham", "phay"})


def accent_fits(original: str, tok: Token) -> bool:
    """Tell whether a folded number word was typed as a number ("tư"/"tu", not "từ")."""
    typed = original[tok.start : tok.end].lower()
    return typed == tok.text or typed in _VI_NUMBER_SPELLINGS


def _decimal_tail(toks: list[Token], j: int, value: Decimal) -> tuple[Decimal, int]:
    """Read "2 chấm 23", "hai phẩy 5": a spoken decimal point."""
    if j + 1 < len(toks) and toks[j].text in _DECIMAL_WORDS and toks[j + 1].is_digits and toks[j + 1].text.isdigit():
        digits = toks[j + 1].text
        return value + Decimal(digits) / Decimal(10) ** len(digits), j + 2
    if j + 1 < len(toks) and toks[j].text in _DECIMAL_WORDS and toks[j + 1].text in VI_DIGITS:
        return value + Decimal(VI_DIGITS[toks[j + 1].text]) / 10, j + 2
    return value, j


def _read_number(toks: list[Token], i: int, words_ok: bool) -> tuple[Decimal, int, bool] | None:
    """Read digits or number words at `i`: (value, next index, was words)."""
    t = toks[i]
    if t.is_digits:
        v = parse_digits(t.text)
        if v is None:
            return None
        if "." not in t.text and "," not in t.text:
            v, j = _decimal_tail(toks, i + 1, v)
            return v, j, False
        return v, i + 1, False
    if not words_ok:
        return None
    words = [x.text for x in toks[i : i + 12]]
    got = vi_words_value(words) if words[0] in VI_DIGITS or words[0] in {"muoi", "tram"} else None
    if got is None and words[0] in _EN_NUMBER_STARTS:
        got = en_words_value(words)
    if got is None:
        return None
    value, used = got
    value, j = _decimal_tail(toks, i + used, value)
    return value, j, True


def _hundreds(toks: list[Token], j: int, value: Decimal, original: str) -> tuple[Decimal, int]:
    """Read "trăm" after digits: "2 trăm" = 200, "3 trăm rưỡi" = 350, "3 trăm 50" = 350."""
    if j >= len(toks) or toks[j].text != "tram" or not accent_fits(original, toks[j]) or value >= 10:
        return value, j
    value, j = value * 100, j + 1
    if j < len(toks) and toks[j].text == "ruoi":
        return value + 50, j + 1
    tens = j + 1 < len(toks) and toks[j].text.isdigit() and len(toks[j].text) == 2
    if tens and toks[j + 1].text in VI_MULT:  # "3 trăm 50 triệu"
        return value + int(toks[j].text), j + 1
    return value, j


def _read_amount(toks: list[Token], i: int, original: str) -> tuple[Decimal, int, bool] | None:
    """Read "2 tỷ 300 triệu", "1tr5", "500k", "hai trăm triệu", "2 trăm triệu": (value, next index, has multiplier)."""
    first = _read_number(toks, i, words_ok=True)
    if first is None:
        return None
    value, j, was_words = first
    if not was_words and "." not in toks[i].text and "," not in toks[i].text:
        value, j = _hundreds(toks, j, value, original)
    if was_words:
        ends_with_mult = toks[j - 1].text in VI_MULT or toks[j - 1].text in EN_MULT or toks[j - 1].text == "ruoi"
        return value, j, ends_with_mult
    has_mult = False
    total = Decimal(0)
    while True:
        mult = _mult_at(toks, j, original)
        if mult is None:
            total += value
            break
        has_mult = True
        j += 1
        if j < len(toks) and toks[j].text == "ruoi":
            total += value * mult + Decimal(mult) / 2
            j += 1
            break
        nxt = _read_number(toks, j, words_ok=False) if j < len(toks) and toks[j].start <= toks[j - 1].end + 1 else None
        if nxt is None:
            total += value * mult
            break
        nval, nj, _ = nxt
        nval, nj = _hundreds(toks, nj, nval, original)
        nmult = _mult_at(toks, nj, original)
        if nmult is not None and nmult < mult:
            total += value * mult
            value, j = nval, nj
            continue
        if nmult is None and "." not in toks[j].text and "," not in toks[j].text and len(toks[j].text) <= 3:
            # "1tr5" = 1.5 million, "2 tỷ 300" = 2.3 billion: trailing digits are a fraction of the unit
            # ... unless a sign follows a spaced number ("2tr 5 x 10", "1tr 5%"); "3tr2 x 20" is 3.2 million
            glued = toks[j].start == toks[j - 1].end
            if nj < len(toks) and (toks[nj].text == "%" or (toks[nj].text == "x" and not glued)):
                total += value * mult
                break
            digits = toks[j].text
            total += value * mult + Decimal(digits) * mult / Decimal(10) ** len(digits)
            j = nj
            break
        total += value * mult
        break
    return total, j, has_mult


def find_money(original: str, folded: str, language: str, toks: list[Token] | None = None) -> list[Money]:
    """Find every money mention in the text, in order."""
    toks = toks if toks is not None else tokenize(folded)
    found: list[Money] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if not (
            t.is_digits
            or t.text in VI_DIGITS
            or t.text in {"muoi", "tram"}
            or t.text in _EN_NUMBER_STARTS
        ):
            i += 1
            continue
        if t.is_digits and _looks_like_phone_or_date(toks, i):
            i += 1
            continue
        if not t.is_digits and not accent_fits(original, t):
            i += 1
            continue
        got = _read_amount(toks, i, original)
        if got is None:
            i += 1
            continue
        value, j, has_mult = got
        start = t.start
        currency: str | None = None
        pre = _prefix_currency(toks, i) if t.is_digits else None
        if pre is not None:
            currency = pre[0]
            start = toks[pre[1]].start
        suf = _suffix_currency(toks, j, original)
        if (
            suf is not None
            and (toks[j].start <= toks[j - 1].end + 1 or toks[j].text not in {"d"})
            and (currency is None or suf[0] == currency or toks[j].text in {"$", "€", "£"})
        ):
            currency = suf[0]
            if toks[j].text in _CENTS:
                value = value / 100
            j = suf[1]
            # "2 đô 23 xu", "20 rupees 43"
            if j < n and toks[j].is_digits and len(toks[j].text) <= 2 and not has_mult:
                k = j + 1
                if k < n and toks[k].text in _CENTS:
                    k += 1
                if k >= n or toks[k].text not in _SUFFIX_MULT:
                    value += Decimal(toks[j].text) / 100
                    j = k
            elif j + 1 < n and toks[j].text in {"va", "and"}:
                cents = _read_number(toks, j + 1, words_ok=True)
                if cents is not None and cents[1] < n and toks[cents[1]].text in _CENTS:
                    value += cents[0] / 100
                    j = cents[1] + 1
        was_words = not t.is_digits
        if was_words and currency is None and not has_mult:
            i = max(j, i + 1)
            continue
        if currency is None and not has_mult and not _money_context(toks, i, value):
            i = max(j, i + 1)
            continue
        if currency is None:
            mult_words = {toks[k].text for k in range(i, j)}
            currency = "VND" if mult_words & _VND_ONLY_MULT or language == "vi" else "USD"
        explicit = pre is not None or suf is not None
        if value > MAX_VALUE:
            found.append(Money(Decimal(-1), currency, start, toks[j - 1].end, explicit))
        else:
            found.append(Money(value, currency, start, toks[j - 1].end, explicit))
        i = max(j, i + 1)
    return found


def _looks_like_phone_or_date(toks: list[Token], i: int) -> bool:
    text = toks[i].text
    digits = text.replace(".", "").replace(",", "")
    if (
        text.startswith("0")
        and len(digits) >= 9
        and not ("," in text or ("." in text and len(text.split(".")[-1]) == 3 and len(text) < 9))
    ):
        return True
    if text.startswith(("84", "+84")) and len(digits) >= 11:
        return True
    if (
        i + 2 < len(toks)
        and toks[i + 1].text in {"/", "-"}
        and toks[i + 1].start == toks[i].end
        and toks[i + 2].is_digits
        and toks[i + 2].start == toks[i + 1].end
    ):
        return True
    return i > 0 and toks[i - 1].text in {"/", ":", "+"} and toks[i - 1].end == toks[i].start


def _money_context(toks: list[Token], i: int, value: Decimal) -> bool:
    if value < 1000:
        return False
    if i + 1 < len(toks) and toks[i + 1].text in {"h", "g", "gio", "phut", "ngay", "nam", "thang", "%"}:
        return False
    window = [t.text for t in toks[max(0, i - 3) : i]]
    joined = {"".join(window[k:]) for k in range(len(window))}
    return bool(set(window) & _CONTEXT_WORDS or joined & _CONTEXT_WORDS)


def parse_amount_text(text: str, language: str) -> tuple[Decimal, str] | None:
    """Read an amount typed on its own ("500tr", "$40", "1,2 tỷ"), defaulting to VND for Vietnamese."""
    from crm_core.understanding.text import prepare

    norm, folded = prepare(text)
    found = [m for m in find_money(norm, folded, language) if m.value >= 0]
    if not found:
        toks = tokenize(folded)
        if len(toks) == 1 and toks[0].is_digits:
            v = parse_digits(toks[0].text)
            if v is not None and v <= MAX_VALUE:
                return v, "VND" if language == "vi" else "USD"
        return None
    best = found[0]
    return best.value, best.currency or ("VND" if language == "vi" else "USD")

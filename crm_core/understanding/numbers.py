"""Numbers written with digits or words (Vietnamese and English), as exact Decimals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|[^\sa-z0-9]")

# Largest amount we accept; anything bigger is treated as unreadable, never an overflow.
MAX_VALUE = Decimal(10) ** 18


@dataclass(frozen=True, slots=True)
class Token:
    """A token of the folded text with its span."""

    text: str
    start: int
    end: int

    @property
    def is_digits(self) -> bool:
        """Tell whether the token is a digit group."""
        return self.text[0].isdigit()


def tokenize(folded: str) -> list[Token]:
    """Split folded text into number, word and symbol tokens."""
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(folded)]


def parse_digits(text: str) -> Decimal | None:
    """Read "4.500.000", "1,2", "25,000", "1.5" as a Decimal (dot or comma decimals)."""
    if not text or not text[0].isdigit():
        return None
    dots, commas = text.count("."), text.count(",")
    try:
        if dots == 0 and commas == 0:
            return Decimal(text)
        if dots and commas:
            dec = "." if text.rfind(".") > text.rfind(",") else ","
            grp = "," if dec == "." else "."
            return Decimal(text.replace(grp, "").replace(dec, "."))
        sep = "." if dots else ","
        parts = text.split(sep)
        if len(parts) > 2 or (len(parts[-1]) == 3 and len(parts[0]) <= 3 and parts[0] != "0"):
            if all(len(p) == 3 for p in parts[1:]):
                return Decimal("".join(parts))
            if len(parts) > 2:
                return None
        return Decimal(parts[0] + "." + parts[1])
    except InvalidOperation:
        return None


VI_DIGITS: dict[str, int] = {
    "khong": 0,
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "lam": 5,
    "nham": 5,
    "sau": 6,
    "bay": 7,
    "bey": 7,
    "tam": 8,
    "chin": 9,
}
EN_SMALL: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a": 1,
    "an": 1,
}
VI_MULT: dict[str, int] = {"nghin": 1000, "ngan": 1000, "trieu": 10**6, "ty": 10**9, "ti": 10**9}
EN_MULT: dict[str, int] = {"thousand": 1000, "million": 10**6, "billion": 10**9}


def vi_words_value(words: list[str]) -> tuple[Decimal, int] | None:
    """Read a run of Vietnamese number words ("hai mươi mốt nghìn") from the start of `words`."""
    total = Decimal(0)
    current = Decimal(0)
    last_digit: int | None = None
    last_mult = 0
    used = 0
    seen_any = False
    for i, w in enumerate(words):
        if w in VI_DIGITS:
            d = VI_DIGITS[w]
            if w in {"lam", "nham"} and last_digit is None and current == 0:
                break
            current += d
            last_digit = d
        elif w in {"muoi", "chuc"}:
            if last_digit is not None and current >= last_digit:
                current += last_digit * 9
            else:
                current += 10
            last_digit = None
        elif w == "tram":
            current = (current if current else Decimal(1)) * 100
            last_digit = None
            last_mult = 100
        elif w in {"linh", "le"} and seen_any:
            last_digit = None
        elif w in VI_MULT:
            mult = VI_MULT[w]
            total += (current if current else Decimal(1)) * mult
            current = Decimal(0)
            last_digit = None
            last_mult = mult
        elif w == "ruoi" and seen_any and last_mult == 100 and current >= 100 and last_digit is None:
            current += 50  # "ba trăm rưỡi" = 350, and a multiplier may follow ("ba trăm rưỡi triệu")
            last_mult = 10
        elif w == "ruoi" and seen_any:
            if current:
                total += current
                current = Decimal(0)
            total += Decimal(last_mult or 10) / 2 if last_mult else Decimal("0.5")
            used = i + 1
            break
        else:
            break
        seen_any = True
        used = i + 1
    if not seen_any:
        return None
    return total + current, used


def en_words_value(words: list[str]) -> tuple[Decimal, int] | None:
    """Read a run of English number words ("two hundred fifty thousand") from the start of `words`."""
    total = Decimal(0)
    current = Decimal(0)
    used = 0
    for i, w in enumerate(words):
        if w in EN_SMALL:
            if w in {"a", "an"} and (i + 1 >= len(words) or words[i + 1] not in {"hundred", *EN_MULT}):
                break
            current += EN_SMALL[w]
        elif w == "hundred":
            current = (current if current else Decimal(1)) * 100
        elif w in EN_MULT:
            total += (current if current else Decimal(1)) * EN_MULT[w]
            current = Decimal(0)
        elif w == "and" and used and i + 1 < len(words) and words[i + 1] in EN_SMALL:
            continue
        else:
            break
        used = i + 1
    if not used:
        return None
    return total + current, used

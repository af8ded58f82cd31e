"""One ranking for what staff look up by name or phone: `/find`, `/customer` and `/deal`.

A query is folded (no accents, any case) and cut into words. A record matches when every word of
the query is a whole word of its name or the start of one: "minh" finds "Nguyễn Văn Minh" and
"Minh Long", never "Trinh", "Bình" or "Thịnh"; "nam" finds "Phương Nam", not "Vietnam". Matches
are ordered: the whole name typed, then every word whole, then word beginnings (listed only when no
name has every word whole: "hoa" finds the Hoas, not every Hoàng); within a tier the name the query
covers most comes first. Only when nothing matches by words are typos forgiven
(rapidfuzz's edit distance, one edit in a word of 5 to 8 letters, two in a longer one; none in a
shorter word, where one letter makes another name: Minh, Linh, Bình).

Honorifics said before a name ("anh Minh", "chị Hà", "Mr. Daniel"; the log parser's list in
understanding/data) are not required to match, and they say the query names a person.

A query that is mostly digits (at least 6) is a phone number in any format: "0912 345 678",
"+84912345678", "84-912-345-678", or its last digits.

The database narrows the candidates (the folded-name columns, `LIKE`); this module ranks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Generic, TypeVar

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from crm_core.textnorm import fold_tokens
from crm_core.understanding import vocabulary

K = TypeVar("K")

# Tiers, best first.
WHOLE_NAME = 0
WHOLE_WORDS = 1
WORD_STARTS = 2
FUZZY = 3

MIN_PHONE_DIGITS = 6
_PHONE_CHARS = re.compile(r"[\d\s.+()\-]+")
_COUNTRY = "84"
# rapidfuzz's edit distance: how many edits a query word of this length may be from a name word.
_FUZZY_EDITS = ((9, 2), (5, 1))


def _honorifics() -> frozenset[str]:
    return vocabulary.words("honorifics_before_name")


@dataclass(frozen=True)
class SearchQuery:
    """What was typed, as the ranking reads it."""

    words: tuple[str, ...]
    # Honorifics said before the name: they may match, need not.
    optional: tuple[str, ...] = ()
    # National significant digits of a phone number ("0912 345 678" -> "912345678"), when the query is one.
    phone: str | None = None

    @property
    def names_a_person(self) -> bool:
        """Tell whether an honorific ("anh", "chị", "Mr") says the query is a person's name."""
        return bool(self.optional)

    @property
    def empty(self) -> bool:
        """Tell whether there is nothing to look for."""
        return not self.words and self.phone is None


def national_digits(text: str) -> str:
    """Return a phone number's digits without the country code or trunk 0 ("+84 912…" and "0912…" -> "912…")."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith(_COUNTRY) and len(digits) >= 11:
        return digits[len(_COUNTRY):]
    return digits.removeprefix("0")


def parse_query(text: str) -> SearchQuery:
    """Read a search query: a phone number, or words with the honorifics before them set apart."""
    stripped = text.strip()
    if _PHONE_CHARS.fullmatch(stripped) and sum(ch.isdigit() for ch in stripped) >= MIN_PHONE_DIGITS:
        return SearchQuery(words=(), phone=national_digits(stripped))
    words = fold_tokens(stripped)
    honorifics = _honorifics()
    leading = 0
    while leading < len(words) - 1 and words[leading] in honorifics:
        leading += 1
    return SearchQuery(words=tuple(words[leading:]), optional=tuple(words[:leading]))


def phone_matches(query: SearchQuery, phone: str | None) -> bool:
    """Tell whether a stored phone number (any format) is the number, or ends with the digits, searched for."""
    if query.phone is None or not phone:
        return False
    return national_digits(phone).endswith(query.phone)


@dataclass(frozen=True)
class Ranked(Generic[K]):
    """One record that matched, with how."""

    key: K
    tier: int
    # 0-100: how much of the name the query covers (word tiers), how close the spelling is (fuzzy).
    score: float
    # the name's last word (a Vietnamese given name: "Xuân" in "Nguyễn Thị Xuân") is a query word
    given: bool = False

    @property
    def order(self) -> tuple[int, bool, float]:
        """Sort key, best first: tier, then given-name matches, then coverage or closeness."""
        return self.tier, not self.given, -self.score

    @property
    def whole_name(self) -> bool:
        """Tell whether the query was the whole name."""
        return self.tier == WHOLE_NAME


def _name_words(name: str) -> list[str]:
    """A name's words, and each pair of neighbours written together ("Vina Milk" also as "vinamilk")."""
    words = fold_tokens(name)
    return words + [a + b for a, b in pairwise(words)]


def _given_name(query: SearchQuery, name: str) -> bool:
    """Tell whether the last word of `name` is a word typed ("xuan" and "Nguyễn Thị Xuân", not "Đỗ Xuân Thịnh")."""
    words = fold_tokens(name)
    return bool(words) and len(words) > 1 and words[-1] in query.words


def _word_tier(query: SearchQuery, name: str) -> tuple[int, float] | None:
    """Rank `name` by whole words and word beginnings; None when a query word matches no word of it."""
    words = fold_tokens(name)
    if not words:
        return None
    candidates = _name_words(name)
    whole = True
    covered: set[str] = set()
    allow_start = len(query.words) > 1
    for wanted in query.words:
        if wanted in candidates:
            covered.add(wanted)
            continue
        started = [w for w in words if w.startswith(wanted)] if (allow_start or len(wanted) >= 2) else []
        if not started:
            return None
        whole = False
        covered.add(started[0])
    covered.update(w for w in query.optional if w in words)
    coverage = sum(1 for w in words if w in covered) / len(words)
    if tuple(words) in (query.words, (*query.optional, *query.words)):
        return WHOLE_NAME, 100.0
    return (WHOLE_WORDS if whole else WORD_STARTS), round(100.0 * coverage, 1)


def _fuzzy_score(query: SearchQuery, name: str) -> float | None:
    """Rank `name` by spelling closeness word by word; None when a query word is near no word of it."""
    candidates = _name_words(name)
    if not candidates:
        return None
    scores = []
    for wanted in query.words:
        if wanted in candidates or any(w.startswith(wanted) for w in candidates):
            scores.append(100.0)
            continue
        edits = next((n for size, n in _FUZZY_EDITS if len(wanted) >= size), 0)
        if not edits:
            return None
        near = [fuzz.ratio(wanted, w) for w in candidates
                if Levenshtein.distance(wanted, w, score_cutoff=edits) <= edits]
        if not near:
            return None
        scores.append(max(near))
    return round(sum(scores) / len(scores), 1)


def rank_words(query: SearchQuery, names: Iterable[tuple[K, str]]) -> list[Ranked[K]]:
    """Rank records whose name has every query word as a whole word or a word beginning; best first."""
    found = []
    for key, name in names:
        tier = _word_tier(query, name)
        if tier is not None:
            found.append((Ranked(key, tier[0], tier[1], _given_name(query, name)), len(name)))
    found.sort(key=lambda pair: (*pair[0].order, pair[1]))
    return narrowed([ranked for ranked, _length in found])


def narrowed(ranked: list[Ranked[K]]) -> list[Ranked[K]]:
    """Drop word-beginning matches when a name has every word whole (`ranked` best first).

    A name typed whole is meant whole: "Hoa" lists the Hoas, not every Hoàng; word beginnings are for names typed
    in part.
    """
    if ranked and ranked[0].tier <= WHOLE_WORDS:
        return [hit for hit in ranked if hit.tier <= WHOLE_WORDS]
    return ranked


def rank_fuzzy(query: SearchQuery, names: Iterable[tuple[K, str]]) -> list[Ranked[K]]:
    """Rank records whose name is within a typo or two of the query, word by word; best first."""
    found = []
    for key, name in names:
        score = _fuzzy_score(query, name)
        if score is not None:
            found.append((Ranked(key, FUZZY, score), len(name)))
    found.sort(key=lambda pair: (-pair[0].score, pair[1]))
    return [ranked for ranked, _length in found]


def best_per_key(ranked: Iterable[Ranked[K]]) -> list[Ranked[K]]:
    """Keep each record's best ranking (found under several names), best first."""
    best: dict[K, Ranked[K]] = {}
    for hit in ranked:
        kept = best.get(hit.key)
        if kept is None or hit.order < kept.order:
            best[hit.key] = hit
    return sorted(best.values(), key=lambda hit: hit.order)


def like_patterns(query: SearchQuery) -> Sequence[tuple[str, ...]]:
    """Per query word, the `LIKE` patterns of which a folded name must match one (a superset of the matches).

    A word of three letters or more anywhere in the name (the ranking then checks it starts a word); a
    shorter one at the start of the name or after a space, which keeps "an" from fetching most names.
    """
    return [(f"%{w}%",) if len(w) >= 3 else (f"{w}%", f"% {w}%") for w in query.words]

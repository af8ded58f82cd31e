"""Which existing company a log's company name means: known, a question, or a new one.

A name equal to a stored one once accents, case, punctuation and legal forms are set aside ("Hoa Phat
Noi That" = "Hòa Phát Nội thất", "Acme" = "Acme Corp") is known: shown as known, no question. Otherwise
only the words that tell companies apart count: "FPT Software" and "Lotus Bay Software" share
"Software", which many names carry (`company_generic_words` in data/matching.json), so they do not
match at all. Names whose telling words are close are asked about; one is preselected only when it
alone holds the telling words typed, together ("Lotus Bay" in "Lotus Bay Software", "Phu Thinh" in
"Nhựa Tân Phú Thịnh"; not "Mộc Trà" in "Trà sữa Mộc Miên"). The thresholds were set on the
parse set's dev split (benchmarks/parse/ask_rate.py reports how often the card asks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from crm_core.textnorm import fold
from crm_core.understanding.vocabulary import phrases, words

# Telling words this close (rapidfuzz token_set_ratio, 0-100) make a company worth asking about.
ASK_SCORE = 85.0
# A stored name this close to the whole name as typed (a typo, a missing space) is known without a question.
NEAR_EXACT_SCORE = 95.0
NEAR_EXACT_CHARS = 8
# The only candidate, holding the telling words typed together, this close: known without a question.
SURE_SCORE = 100.0  # ... when the name is long enough for one typo not to make another company
_PUNCT_RE = re.compile(r"[^\w\s]|_")


@lru_cache(maxsize=20_000)
def name_key(name: str) -> str:
    """Return a company name folded, without punctuation and legal forms ("Công ty TNHH Acme, Corp." -> "acme")."""
    tokens = _PUNCT_RE.sub(" ", fold(name)).split()
    legal = words("company_legal_forms") | {"cong", "ty", "cty", "tnhh", "cp", "jsc"}
    kept = [t for t in tokens if t not in legal] or tokens
    for country in (["viet", "nam"], ["vietnam"], ["vn"]):  # "Kaizen Precision Vietnam" = "Kaizen Precision"
        if len(kept) > len(country) and kept[-len(country):] == country:
            kept = kept[:-len(country)]
    return " ".join(kept)


@lru_cache(maxsize=20_000)
def telling_words(name: str) -> str:
    """Return the words of a company name that tell it from others (generic ones such as "Software" dropped)."""
    tokens = name_key(name).split()
    generic = phrases("company_generic_words")
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        hit = next((p for p in generic if tuple(tokens[i:i + len(p)]) == p), None)
        if hit is None:
            kept.append(tokens[i])
            i += 1
        else:
            i += len(hit)
    return " ".join(kept)


@dataclass(frozen=True)
class CompanyVerdict:
    """What the card does with a company name: `known` (no question), or `options` to ask about."""

    known: int | None = None
    options: list[int] = field(default_factory=list)
    preselect: int | None = None

    @property
    def asks(self) -> bool:
        """Tell whether the card asks which company is meant."""
        return self.known is None and bool(self.options)


def judge_company(name: str, companies: Mapping[int, str], *, limit: int = 3) -> CompanyVerdict:
    """Decide whether `name` is a stored company (by id), may be one of a few, or is new."""
    key = name_key(name)
    if not key:
        return CompanyVerdict()
    same = [cid for cid, stored in companies.items() if name_key(stored) == key]
    if len(same) == 1:
        return CompanyVerdict(known=same[0])
    near = sorted(((fuzz.ratio(key, name_key(stored)), cid) for cid, stored in companies.items()), reverse=True)
    if (not same and len(key) >= NEAR_EXACT_CHARS and near and near[0][0] >= NEAR_EXACT_SCORE
            and (len(near) == 1 or near[1][0] < NEAR_EXACT_SCORE)):
        return CompanyVerdict(known=near[0][1])
    telling = telling_words(name)
    if not telling:
        return CompanyVerdict(options=same[:limit])
    scored = []
    for cid, stored in companies.items():
        theirs = telling_words(stored)
        if theirs:
            score = fuzz.token_set_ratio(telling, theirs)
            if score >= ASK_SCORE:
                # "Phu Thinh" in "Nhựa Tân Phú Thịnh": the telling words typed appear together in the stored name.
                together = f" {telling} " in f" {theirs} "
                scored.append((score, together, theirs == telling, cid))
    scored.sort(key=lambda s: (-s[0], not s[2], not s[1], s[3]))
    options = [s[3] for s in scored[:limit]]
    within = [s[3] for s in scored if s[1]]
    if len(scored) == 1 and within and scored[0][0] >= SURE_SCORE:
        # one candidate, holding every telling word typed ("Kaizen" -> "Kaizen Precision Vietnam"): known, no question
        return CompanyVerdict(known=within[0])
    return CompanyVerdict(options=options, preselect=within[0] if len(within) == 1 else None)

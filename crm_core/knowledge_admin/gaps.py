"""Group the questions the knowledge base did not answer well, so the admin sees what to write next.

    questions (handed off for low confidence or out of scope, or rated 👎) -> groups of similar questions,
    biggest first

Similar means either
  - the same words: rapidfuzz's token_set_ratio on accent-folded text at or above `SIMILAR_AT` (word order
    and repeated words do not matter; "bảo hành bao lâu" and "bao lau bao hanh vay shop" meet), or
  - the same meaning: the cosine of the questions' e5 query vectors at or above `SAME_MEANING_AT`, each
    question embedded as `meaning_text` makes it (abbreviations spelled out, an unaccented Vietnamese
    question given its accents back: e5 reads "shop co ban may lanh ko" poorly), so "bên mình có bán điều
    hòa không ạ", "shop co ban may lanh ko?" and "do you sell air conditioners?" meet;
joined single-link: a question joins every group one of its members is like. Small numbers (at most
`MAX_QUESTIONS`, a few hundred a month) make the quadratic comparison cheap.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from crm_core.retrieval.diacritics import add_accents
from crm_core.retrieval.normalize import expand_abbreviations, has_vietnamese_marks, looks_unaccented_vietnamese
from crm_core.textnorm import fold

SIMILAR_AT = 72.0
# Chosen on tests/fixtures/gaps/paraphrases.csv (40 customer-typed questions, 10 intents, vi with and
# without accents and English; 5 intents "dev" to choose on, 5 "test" held out), every pair judged by
# "same meaning OR same words (SIMILAR_AT)", texts through `meaning_text`:
#   threshold  dev precision/recall  test precision/recall
#   0.86       0.42 / 0.57           0.62 / 0.77
#   0.88       0.57 / 0.43           0.75 / 0.50
#   0.89       0.64 / 0.30           0.92 / 0.37   <- the best dev recall at dev precision >= 0.6
#   0.90       0.60 / 0.20           1.00 / 0.37
#   words only 0.50 / 0.07           1.00 / 0.13
# Precision first: one answer is written for a whole group, so two different questions grouped is worse
# than a paraphrase left in a group of its own. e5-small's cosines sit in a narrow band (0.75-0.95 for any
# two shop questions), hence the high threshold and the modest recall.
SAME_MEANING_AT = 0.89
EXAMPLES_KEPT = 5
_SYNONYMS = Path(__file__).resolve().parent / "data" / "gap_synonyms.json"
MAX_QUESTIONS = 500  # the most recent ones: embedding a short question takes ~9 ms


@dataclass(frozen=True)
class GapQuestion:
    """One question that went unanswered (or answered badly)."""

    id: int
    text: str
    asked_at: datetime
    why: str  # "low_confidence", "out_of_scope" or "rated_down"


@dataclass
class GapGroup:
    """Similar questions: how many, the most recent as the example, a few others."""

    key: int  # the example's question id: what a button names
    count: int
    example: str
    last_asked: datetime
    questions: list[str] = field(default_factory=list)


@cache
def _same_as() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The words e5-small does not know are the same (data/gap_synonyms.json), longest first."""
    table: dict[str, str] = json.loads(_SYNONYMS.read_text(encoding="utf-8"))["same_as"]
    patterns = []
    for phrase in sorted(table, key=len, reverse=True):
        spellings = "|".join(re.escape(p) for p in dict.fromkeys((phrase, fold(phrase))))
        patterns.append((re.compile(rf"(?<!\w)(?:{spellings})(?!\w)", re.IGNORECASE), table[phrase]))
    return tuple(patterns)


def meaning_text(text: str) -> str:
    """Return the question as it is embedded: abbreviations spelled out, accents restored when typed without,
    words the model does not know are the same (máy lạnh, air conditioner) made the same (điều hòa)."""
    # Judged before the abbreviations are spelled out: "ko" becomes "không", whose marks would hide the rest.
    unaccented = looks_unaccented_vietnamese(text)
    # Loanwords stay: e5 reads "ship" itself, and "giao hàng" made two delivery questions as close to any
    # other "shop" question as to each other (dev precision 0.64 -> 0.56 at SAME_MEANING_AT).
    expanded = expand_abbreviations(text, loanwords=False)
    for pattern, same in _same_as():
        expanded = pattern.sub(same, expanded)
    return add_accents(expanded) if unaccented and not has_vietnamese_marks(expanded) else expanded


def _unit_rows(vectors: Sequence[Sequence[float]]) -> Any:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def group_questions(questions: list[GapQuestion], *, similar_at: float = SIMILAR_AT,
                    vectors: Sequence[Sequence[float]] | None = None,
                    same_meaning_at: float = SAME_MEANING_AT) -> list[GapGroup]:
    """Return the questions in groups of similar ones, the biggest (then the most recent) first.

    `vectors` (one per question, from `meaning_text`) add the same-meaning rule; without them only words count.
    """
    folded = [fold(q.text) for q in questions]
    cosines = None
    if vectors is not None and len(vectors) == len(questions) and questions:
        unit = _unit_rows(vectors)
        cosines = unit @ unit.T
    parent = list(range(len(questions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(questions)):
        for j in range(i):
            if root(i) == root(j):
                continue
            if ((cosines is not None and cosines[i, j] >= same_meaning_at)
                    or fuzz.token_set_ratio(folded[i], folded[j]) >= similar_at):
                parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(len(questions)):
        members.setdefault(root(i), []).append(i)
    groups: list[GapGroup] = []
    for indexes in members.values():
        ordered = sorted(indexes, key=lambda k: questions[k].asked_at, reverse=True)
        newest = questions[ordered[0]]
        distinct: list[str] = []
        for k in ordered:
            if fold(questions[k].text) not in {fold(d) for d in distinct}:
                distinct.append(questions[k].text)
        groups.append(GapGroup(key=newest.id, count=len(indexes), example=newest.text, last_asked=newest.asked_at,
                               questions=distinct[:EXAMPLES_KEPT]))
    return sorted(groups, key=lambda g: (-g.count, -g.last_asked.timestamp()))


# --- the FAQ table gap answers are written to ---------------------------------------------------------------

FAQ_HEADER = ("question", "answer", "variants")


def faq_rows(text: str) -> list[tuple[str, str, str]]:
    """Read the gap answers' FAQ table (question, answer, variants)."""
    rows = list(csv.reader(io.StringIO(text)))
    return [(r[0], r[1], r[2] if len(r) > 2 else "") for r in rows[1:] if len(r) >= 2 and r[0].strip()]


def with_answer(text: str, question: str, answer: str, variants: list[str]) -> str:
    """Return the FAQ table with this entry added (or replacing the entry of the same question)."""
    rows = [r for r in faq_rows(text) if fold(r[0]) != fold(question)]
    others = [v for v in variants if fold(v) != fold(question)]
    rows.append((question.strip(), answer.strip(), " | ".join(v.replace("|", "/").strip() for v in others)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FAQ_HEADER)
    writer.writerows(rows)
    return out.getvalue()


def answered_questions(text: str) -> set[str]:
    """Return the folded questions (and their variants) the gap answers already cover."""
    covered: set[str] = set()
    for question, _answer, variants in faq_rows(text):
        covered.add(fold(question))
        covered.update(fold(v) for v in variants.split("|") if v.strip())
    return covered

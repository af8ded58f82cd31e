"""Group the questions the knowledge base did not answer well, so the admin sees what to write next.

    questions (handed off for low confidence, or rated 👎) -> groups of similar questions, biggest first

Similar means rapidfuzz's token_set_ratio on accent-folded text at or above `SIMILAR_AT` (word order and
repeated words do not matter; "bảo hành bao lâu" and "bao lau bao hanh vay shop" meet), joined single-link:
a question joins every group one of its members is like. Small numbers (a few hundred a month) make the
quadratic comparison cheap.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz

from crm_core.textnorm import fold

SIMILAR_AT = 72.0
EXAMPLES_KEPT = 5


@dataclass(frozen=True)
class GapQuestion:
    """One question that went unanswered (or answered badly)."""

    id: int
    text: str
    asked_at: datetime
    why: str  # "low_confidence" or "rated_down"


@dataclass
class GapGroup:
    """Similar questions: how many, the most recent as the example, a few others."""

    key: int  # the example's question id: what a button names
    count: int
    example: str
    last_asked: datetime
    questions: list[str] = field(default_factory=list)


def group_questions(questions: list[GapQuestion], *, similar_at: float = SIMILAR_AT) -> list[GapGroup]:
    """Return the questions in groups of similar ones, the biggest (then the most recent) first."""
    folded = [fold(q.text) for q in questions]
    parent = list(range(len(questions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(questions)):
        for j in range(i):
            if root(i) != root(j) and fuzz.token_set_ratio(folded[i], folded[j]) >= similar_at:
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

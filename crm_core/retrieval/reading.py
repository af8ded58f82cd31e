"""Make a section readable as an answer: lines and lists kept, tables as "label: value" lines, the answering line
first, long text cut at a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.retrieval.chunking import sentences
from crm_core.retrieval.signals import QuestionSignals, number_fit, states_amount, states_type
from crm_core.textnorm import fold_tokens

_BULLET_RE = re.compile(r"^\s*[-*+•]\s+")
_NUMBERED_RE = re.compile(r"^\s*(\d+)[.)]\s+")
_TABLE_ROW_RE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…;])\s+")
# How many lines may lead the answer when several answer equally well (the chair rows of a warranty table).
MAX_LEAD = 4


@dataclass(frozen=True)
class Excerpt:
    """The readable text of a section for one question, and whether it was cut."""

    text: str
    truncated: bool


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_lines(rows: list[str]) -> list[str]:
    """Render a markdown table as one "label: value" line per row (the first column is the label)."""
    header: list[str] | None = None
    body = rows
    if len(rows) >= 2 and _TABLE_RULE_RE.match(rows[1]):
        header, body = _cells(rows[0]), rows[2:]
    out: list[str] = []
    for row in body:
        if _TABLE_RULE_RE.match(row):
            continue
        cells = _cells(row)
        label, values = cells[0], cells[1:]
        if not values:
            out.append(label)
        elif header is not None and len(header) > 2:
            pairs = [f"{h}: {v}" if h else v for h, v in zip(header[1:], values, strict=False) if v]
            out.append(f"{label}: {'; '.join(pairs)}")
        else:
            out.append(f"{label}: {'; '.join(v for v in values if v)}")
    return out


def readable_lines(text: str) -> list[str]:
    """Return a section's text as lines to show: bullets as "- ", numbered steps kept, tables as label: value."""
    out: list[str] = []
    table: list[str] = []
    for raw in [*text.splitlines(), ""]:
        if _TABLE_ROW_RE.match(raw) or (table and _TABLE_RULE_RE.match(raw)):
            table.append(raw)
            continue
        if table:
            out.extend(_table_lines(table))
            table = []
        line = raw.strip()
        if not line:
            continue
        if _BULLET_RE.match(line):
            line = "- " + _BULLET_RE.sub("", line)
        out.append(line)
    return out


def _words(text: str, marked: bool) -> set[str]:
    return set(re.findall(r"\w+", text.lower())) if marked else set(fold_tokens(text))


def _line_score(line: str, signals: QuestionSignals, words: frozenset[str], window: set[str]) -> float:
    score = 3.0 * number_fit(set(signals.numbers), line) if signals.numbers else 0.0
    if signals.price and states_amount(line):
        score += 2.0
    if any(states_type(kind, line) for kind in signals.types):  # "150 kg" for "chịu tải bao nhiêu kg"
        score += 2.0
    score += len(words & _words(line, bool(signals.marked)))
    if window and any(s in line for s in window):
        score += 1.0
    return score


def _cut(lines: list[str], limit: int) -> tuple[list[str], bool]:
    """Keep whole lines while they fit; cut the first line that does not at a sentence end."""
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (1 if kept else 0)
        if used + cost <= limit:
            kept.append(line)
            used += cost
            continue
        room = limit - used - (1 if kept else 0)
        parts = _SENTENCE_END_RE.split(line)
        head = ""
        for part in parts:
            candidate = f"{head} {part}".strip()
            if len(candidate) > room:
                break
            head = candidate
        if head and head != line:
            kept.append(head)
        elif not kept:  # one endless sentence: cut at a word
            kept.append(line[: max(limit - 1, 1)].rsplit(" ", 1)[0].rstrip(",;:") + "…")
        return kept, True
    return kept, False


def excerpt(
    text: str,
    heading: str,
    signals: QuestionSignals,
    limit: int,
    window: tuple[int, int] | None = None,
) -> Excerpt:
    """Return the readable part of a section that answers: the answering lines first, the rest after, cut at `limit`.

    A line answers better when it states the question's numbers (or a range holding them), an amount for a price
    question, the kind of value asked (a weight, a duration…), the question's words the heading does not already
    carry, or the sentences the dense search matched.
    """
    lines = readable_lines(text)
    if not lines:
        return Excerpt(text=heading, truncated=False)
    marked = bool(signals.marked)
    topic = signals.marked if marked else signals.topic
    # Model codes always tell rows apart (the AP-C300 row of a comparison titled with every code).
    codes = {w for w in topic if any(ch.isdigit() for ch in w) and any(ch.isalpha() for ch in w)}
    words = frozenset(w for w in topic if not w.isdigit()) - _words(heading, marked) | codes
    matched: set[str] = set()
    if window is not None:
        sents = sentences(text)
        matched = {s for s in sents[window[0] : window[1]] if len(s) > 12}
    scores = [_line_score(line, signals, words, matched) for line in lines]
    best = max(scores)
    lead = [i for i, s in enumerate(scores) if s == best][:MAX_LEAD] if best > 0 else []
    if lead and lead != list(range(len(lead))):
        rest = [line for i, line in enumerate(lines) if i not in lead]
        ordered = [lines[i] for i in lead] + ([""] if rest else []) + rest
    else:
        ordered = lines
    kept, truncated = _cut(ordered, limit)
    while kept and not kept[-1].strip():
        kept.pop()
    return Excerpt(text="\n".join(kept), truncated=truncated)


__all__ = ["Excerpt", "excerpt", "readable_lines"]

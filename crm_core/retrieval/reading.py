"""Make a section readable as an answer: lines and lists kept, tables as "label: value" lines, the line answering
what was asked first and the others in the document's order, numbered steps in their order, long text cut at a
sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.retrieval.chunking import sentences
from crm_core.retrieval.signals import QuestionSignals, codes, measure_fit, states_amount, states_type
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


def _states_asked(line: str, kinds: frozenset[str]) -> bool:
    """Tell whether a line states a kind of value asked: an amount for a price, "150 kg" for "chịu tải bao nhiêu"."""
    return any(states_amount(line) if kind == "price" else states_type(kind, line) for kind in kinds)


def _points_at(line: str, signals: QuestionSignals) -> bool:
    """Tell whether a line is about the question's own number or model ("50-99 bộ" for "mua 50 bộ", the AP-C300 row)."""
    return bool(measure_fit(signals.measures, line) or signals.codes & codes(line))


def _named(line: str, signals: QuestionSignals, words: frozenset[str], phrases: frozenset[str]) -> int:
    """Count the question's words and glossary terms (those its heading does not already carry) a line holds."""
    folded = f" {' '.join(fold_tokens(line))} "
    return len(words & _words(line, bool(signals.marked))) + sum(1 for p in phrases if f" {p} " in folded)


def _relevance(line: str, signals: QuestionSignals, named: int, window: set[str]) -> float:
    """How closely a line matches the question: its numbers, its words and terms, the sentences the search matched."""
    score = 3.0 * measure_fit(signals.measures, line) if signals.measures else 0.0
    score += named
    if window and any(s in line for s in window):
        score += 1.0
    return score


def _lead(lines: list[str], signals: QuestionSignals, named: list[int], relevance: list[float]) -> list[int]:
    """Return the lines that answer what was asked, in the document's order: those stating the asked kind of value,
    else those about the question's number or model, else those naming what it asks about ("Màu: …" for "màu gì");
    the closest matches among them, at most MAX_LEAD. None when no line does: a sentence the dense search matched
    does not reorder a section by itself."""
    kinds = signals.line_kinds
    pool = [i for i, line in enumerate(lines) if _states_asked(line, kinds)] if kinds else []
    if not pool:
        pool = [i for i, line in enumerate(lines) if _points_at(line, signals)]
    if not pool:
        pool = [i for i in range(len(lines)) if named[i]]
    if not pool:
        return []
    best = max(relevance[i] for i in pool)
    return [i for i in pool if relevance[i] == best][:MAX_LEAD]


def _blocks(lines: list[str]) -> list[list[int]]:
    """Group lines that move together: a numbered list with the line that introduces it (ends with ":") is one block,
    its steps never reordered; any other line is a block of its own."""
    blocks: list[list[int]] = []
    for i, line in enumerate(lines):
        # A step joins the block before it: the previous step's, or the line introducing the list.
        joins = i > 0 and bool(_NUMBERED_RE.match(line)) and (
            bool(_NUMBERED_RE.match(lines[i - 1])) or lines[i - 1].rstrip().endswith(":"))
        if joins:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return blocks


def _listed(line: str) -> bool:
    """Tell whether a line is an item of a list or table (a bullet, a step, a "label: value" row)."""
    return bool(_BULLET_RE.match(line) or _NUMBERED_RE.match(line)) or (": " in line and not line.endswith(":"))


def _introduces_only(lines: list[str], intro: int, lead: set[int]) -> bool:
    """Tell whether the line `intro` ("Giá combo đã rẻ hơn mua lẻ:") introduces items that all lead: it then leads
    with them, instead of dangling over whatever follows."""
    if not lines[intro].rstrip().endswith(":"):
        return False
    items = []
    for i in range(intro + 1, len(lines)):
        if not _listed(lines[i]):
            break
        items.append(i)
    return bool(items) and all(i in lead for i in items)


def _ordered(lines: list[str], lead: list[int]) -> list[str]:
    """Put the blocks holding the lead lines first (with the line introducing them when they are all it introduces),
    then a blank line, then the rest, each in the document's order."""
    blocks = _blocks(lines)
    first = [b for b in blocks if set(b) & set(lead) or (len(b) == 1 and _introduces_only(lines, b[0], set(lead)))]
    if not first or first == blocks[: len(first)]:
        return lines
    rest = [b for b in blocks if b not in first]
    return [lines[i] for b in first for i in b] + ([""] if rest else []) + [lines[i] for b in rest for i in b]


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

    The lines that answer what was asked lead: those stating the kind of value asked (an amount for a price or a
    bare "how much", a weight, a duration…), else those holding the question's number (or a range with it) or model
    code, else those holding the question's words or glossary terms the heading does not already carry; when several
    do, the closest ones to the question (its numbers, its words, the sentences the dense search matched). Every other
    line keeps the document's order, and a numbered list moves, if at all, whole and in order.
    """
    lines = readable_lines(text)
    if not lines:
        return Excerpt(text=heading, truncated=False)
    marked = bool(signals.marked)
    topic = signals.marked if marked else signals.topic
    # Model codes always tell rows apart (the AP-C300 row of a comparison titled with every code).
    model_words = {w for w in topic if any(ch.isdigit() for ch in w) and any(ch.isalpha() for ch in w)}
    words = frozenset(w for w in topic if not w.isdigit()) - _words(heading, marked) | model_words
    folded_heading = f" {' '.join(fold_tokens(heading))} "
    phrases = frozenset(p for p in signals.phrases if f" {p} " not in folded_heading)
    matched: set[str] = set()
    if window is not None:
        sents = sentences(text)
        matched = {s for s in sents[window[0] : window[1]] if len(s) > 12}
    named = [_named(line, signals, words, phrases) for line in lines]
    relevance = [_relevance(line, signals, n, matched) for line, n in zip(lines, named, strict=True)]
    kept, truncated = _cut(_ordered(lines, _lead(lines, signals, named, relevance)), limit)
    while kept and not kept[-1].strip():
        kept.pop()
    return Excerpt(text="\n".join(kept), truncated=truncated)


__all__ = ["Excerpt", "excerpt", "readable_lines"]

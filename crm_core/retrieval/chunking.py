"""Split a unit into the texts embedded for it: heading, question variants, body and sentence windows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import has_vietnamese_marks, translate_terms

_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(\[]?[A-ZÀ-Ỹ0-9])")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}")
MAX_WINDOWS = 16


@dataclass(frozen=True)
class View:
    """One text embedded for a unit; `start`/`end` give the sentences a window covers."""

    kind: str
    text: str
    start: int = 0
    end: int = 0


def sentences(text: str) -> list[str]:
    """Split text into sentences (list items and lines count as sentences)."""
    out: list[str] = []
    for line in text.splitlines():
        if _TABLE_RULE_RE.match(line):
            continue
        line = _BULLET_RE.sub("", line).strip().strip("|").strip()
        if not line:
            continue
        out.extend(s.strip() for s in _SENTENCE_END_RE.split(line) if s.strip())
    merged: list[str] = []
    for sent in out:
        if merged and len(merged[-1]) < 12:
            merged[-1] = f"{merged[-1]} {sent}"
        else:
            merged.append(sent)
    return merged


def views(unit: Unit, *, window: int = 2) -> list[View]:
    """Return the texts to embed for `unit`, each scored on its own at query time."""
    out = [View("title", unit.title)]
    if unit.section:
        out.append(View("section", unit.section))
    out.extend(View("variant", v) for v in unit.variants)
    # The heading's business terms in the other language: a bridge for cross-lingual questions.
    crossed = translate_terms(unit.section, "vi" if has_vietnamese_marks(f"{unit.section} {unit.text}") else "en")
    if crossed:
        out.append(View("gloss", crossed))
    sents = sentences(unit.text)
    # The whole unit in one text (pooled over all its words): the "centroid" signal fused with the best view.
    body = "\n".join([unit.title, *unit.variants, unit.text]).strip()
    out.append(View("body", body, 0, len(sents)))
    if len(sents) > 1:
        starts = list(range(0, max(len(sents) - window + 1, 1)))
        if len(starts) > MAX_WINDOWS:
            step = len(starts) / MAX_WINDOWS
            starts = sorted({int(i * step) for i in range(MAX_WINDOWS)} | {starts[-1]})
        for s in starts:
            end = min(s + window, len(sents))
            out.append(View("window", f"{unit.section}: {' '.join(sents[s:end])}", s, end))
    seen: set[str] = set()
    unique: list[View] = []
    for view in out:
        if view.text.strip() and view.text not in seen:
            seen.add(view.text)
            unique.append(view)
    return unique

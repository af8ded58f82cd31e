"""Which stage of a pipeline a stage word means, whatever template the pipeline came from.

A log's understanding (and the LLM's fill) says a stage with the general pipeline's words: new, contacted,
qualified, quote, negotiation, won, lost. Only the general template has stages with those keys; an industry
pipeline (recruitment, shipping…) has its own, and admins rename stages. So a word is matched to the
pipeline's stages by what they are, never by a key only one template has:

- won / lost: the pipeline's winning / losing stage (is_won / is_lost);
- otherwise a stage whose key or name (either language) is the word or the word's general-template name
  ("quote" → a stage named "Báo giá");
- otherwise how far along the word is: the general template's probability for it, and the last open stage
  of the pipeline that is not further along (the first open stage when all are).

A deal nobody names a stage for starts in the pipeline's first open stage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

from crm_core.pipelines.templates import GENERAL
from crm_core.schemas import StageOut
from crm_core.textnorm import fold
from crm_core.understanding.classify import find_stage
from crm_core.understanding.text import prepare

# The stage a log implies when it names none: someone talked to the customer. A pipeline without such a
# stage (by key or name) starts the deal in its first open stage.
LOG_OPENING_WORD = "contacted"


def open_stages(stages: Sequence[StageOut]) -> list[StageOut]:
    """Return the stages a deal is open in, in order."""
    return sorted((s for s in stages if not (s.is_won or s.is_lost)), key=lambda s: s.position)


def first_open(stages: Sequence[StageOut]) -> StageOut:
    """Return the stage a new deal starts in when no stage is named."""
    opened = open_stages(stages)
    if not opened:
        raise ValueError("a pipeline has at least one open stage")
    return opened[0]


def named(word: str, stages: Sequence[StageOut]) -> StageOut | None:
    """Return the stage whose key or name is `word` (or its general-template name), else None."""
    wanted = {fold(word)}
    general = next((s for s in GENERAL.stages if s.key == word), None)
    if general is not None:
        wanted |= {fold(general.name_vi), fold(general.name_en)}
    return next((s for s in stages if wanted & {s.key, fold(s.name_vi), fold(s.name_en)}), None)


def stage_for(word: str | None, stages: Sequence[StageOut]) -> StageOut | None:
    """Return the stage `word` means in a pipeline with `stages` (None for no word or an unknown one)."""
    if not word:
        return None
    if word == "won" or word == "lost":
        return next((s for s in stages if (s.is_won if word == "won" else s.is_lost)), None)
    found = named(word, stages)
    if found is not None:
        return found
    general = next((s for s in GENERAL.stages if s.key == word), None)
    if general is None:
        return None
    opened = open_stages(stages)
    reached = [s for s in opened if s.probability <= general.probability]
    return reached[-1] if reached else (opened[0] if opened else None)


def log_opening(stages: Sequence[StageOut]) -> StageOut:
    """Return the stage a deal a log creates starts in when the log names no stage."""
    return named(LOG_OPENING_WORD, stages) or first_open(stages)


# --- a stage typed in a sentence ("vẫn đang báo giá nha, ko phải thua") -----------------------------------------

_CLAUSE_END = re.compile(r"[,.;!?\n]|(?<![a-z0-9])(?:ma|nhung|but)(?![a-z0-9])")


@cache
def _negation() -> re.Pattern[str]:
    raw = resources.files("crm_core.pipelines").joinpath("data", "stage_negations.json").read_text(encoding="utf-8")
    cues = sorted(json.loads(raw)["cues"], key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(c) for c in cues) + r")(?![a-z0-9])")


def _without_denied(original: str, folded: str, stages: Sequence[StageOut]) -> tuple[str, str]:
    """Blank out each denied stage ("ko phải thua"): a cue and the rest of its clause, when that names a stage."""
    for cue in _negation().finditer(folded):
        end = _CLAUSE_END.search(folded, cue.end())
        stop = end.start() if end else len(folded)
        denied = folded[cue.end():stop]
        if find_stage(original[cue.end():stop], denied) is None and not _names_in(denied, stages):
            continue
        blank = " " * (stop - cue.start())
        original = original[:cue.start()] + blank + original[stop:]
        folded = folded[:cue.start()] + blank + folded[stop:]
    return original, folded


def _names_in(folded: str, stages: Sequence[StageOut]) -> list[tuple[int, StageOut]]:
    """Return the stages whose name (either language) is a phrase of `folded`, with the name's length."""
    found: list[tuple[int, StageOut]] = []
    for stage in stages:
        for name in {fold(stage.name_vi), fold(stage.name_en)}:
            if name and re.search(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])", folded):
                found.append((len(name), stage))
    return found


def stage_in_text(text: str, stages: Sequence[StageOut]) -> StageOut | None:
    """Return the stage a typed value means: a stage's key or name, or one named or hinted in a sentence.

    A denied stage ("ko phải thua", "not lost") does not count; None when the text names no stage.
    """
    whole = named(text.strip(), stages) or stage_for(fold(text), stages)
    if whole is not None:
        return whole
    original, folded = prepare(text)
    original, folded = _without_denied(original, folded, stages)
    by_name = _names_in(folded, stages)
    if by_name:  # the pipeline's own name for a stage, the longest first ("Đã báo giá" over "Báo giá")
        return max(by_name, key=lambda found: found[0])[1]
    return stage_for(find_stage(original, folded), stages)

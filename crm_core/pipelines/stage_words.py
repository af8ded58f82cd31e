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

from collections.abc import Sequence

from crm_core.pipelines.templates import GENERAL
from crm_core.schemas import StageOut
from crm_core.textnorm import fold

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

"""Why deals are lost: the reasons list (data/lost_reasons.json) and reading one from a salesperson's words."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from pydantic import BaseModel

from crm_core.textnorm import clean_name, fold_tokens

# The width of deals.lost_reason and deal_stage_changes.reason.
REASON_CHARS = 200
# Why an erased customer's open deals were closed lost (a reason the system gives, never offered).
CUSTOMER_ERASED = "customer_erased"


class LostReason(BaseModel):
    """One reason offered when a deal is lost: its key (named in the chat layer's texts) and its cue phrases."""

    key: str
    cues: tuple[str, ...] = ()
    offered: bool = True  # False: given by the system only (CUSTOMER_ERASED), never a button nor read from a log


@cache
def _all_reasons() -> tuple[LostReason, ...]:
    raw = resources.files("crm_core.pipelines").joinpath("data", "lost_reasons.json").read_text(encoding="utf-8")
    return tuple(LostReason.model_validate(item) for item in json.loads(raw)["reasons"])


def lost_reasons() -> tuple[LostReason, ...]:
    """Return the reasons offered as buttons, in order."""
    return tuple(r for r in _all_reasons() if r.offered)


def is_reason_key(value: str | None) -> bool:
    """Tell whether a stored reason is a key of the list (otherwise it is the salesperson's own words)."""
    return value is not None and any(r.key == value for r in _all_reasons())


def reason_from_text(text: str) -> str | None:
    """Return the key of the first listed reason a text names ("báo ko mua nữa" -> "no_need"), or None."""
    folded = f" {' '.join(fold_tokens(text))} "
    for reason in lost_reasons():
        if any(f" {cue} " in folded for cue in reason.cues):
            return reason.key
    return None


def clean_reason(text: str) -> str | None:
    """Return a typed reason ready to store (one line, cleaned), or None when it is empty or too long to keep."""
    reason = clean_name(" ".join(text.split()))
    return reason if reason and len(reason) <= REASON_CHARS else None

"""Hand-off benchmark: which customer messages the FAQ bot must hand to a person (issue 11).

Run: `.venv/bin/python benchmarks/handoff/bench.py` or `chatcrm bench handoff --json` (one JSON document).
The set is `handoff_set.jsonl` (split dev/test by md5 of the text, fixed before any tuning); the rules and
the model (`crm_core/retrieval/data/handoff_*.json`) are written from dev only (`train.py`); figures are
reported on test, dev beside them for reference, and the safety rules plus off-topic lexicon alone
("baseline": what `KnowledgeBase.ask` screened before) in the same run. No knowledge base is loaded: the
messages are screened by their text (the off-topic lexicon sees an empty knowledge text).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crm_core.retrieval.handoff import screen  # noqa: E402
from crm_core.retrieval.safety import classify  # noqa: E402
from crm_core.retrieval.scope import off_topic  # noqa: E402

SET = Path(__file__).with_name("handoff_set.jsonl")
ANSWERABLE = "answerable"
# The reason each label should be handed off with (`unsafe` covers injections and other people's data).
EXPECTED_REASON = {
    "own_order": "own_order",
    "dispute": "dispute",
    "named_person": "named_person",
    "out_of_scope": "out_of_scope",
    "complaint": "complaint",
    "asks_human": "asked_for_human",
    "injection": "unsafe",
    "other_customer_data": "unsafe",
}


@dataclass(frozen=True)
class Example:
    """One labelled customer message."""

    id: str
    split: str
    label: str
    lang: str
    shop: str
    text: str


def load(path: Path = SET) -> list[Example]:
    """Read the labelled set."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Example(**{k: r[k] for k in ("id", "split", "label", "lang", "shop", "text")}) for r in rows]


def baseline(text: str) -> str | None:
    """What was screened before issue 11: the safety rules, then the off-topic lexicon."""
    reason = classify(text)
    if reason is not None:
        return reason
    return "out_of_scope" if off_topic(text, "") else None


def evaluate(examples: list[Example], predict: Callable[[str], str | None]) -> dict[str, Any]:
    """Hand-off precision/recall overall and per class, reason accuracy, answerable handed off."""
    predicted = [(ex, predict(ex.text)) for ex in examples]
    non = [(ex, p) for ex, p in predicted if ex.label != ANSWERABLE]
    ans = [(ex, p) for ex, p in predicted if ex.label == ANSWERABLE]
    handed = [(ex, p) for ex, p in predicted if p is not None]
    per_class: dict[str, dict[str, Any]] = {}
    for label in sorted({ex.label for ex in examples} - {ANSWERABLE}):
        reason = EXPECTED_REASON[label]
        members = [(ex, p) for ex, p in non if ex.label == label]
        said = [(ex, p) for ex, p in predicted if p == reason]
        right = sum(1 for ex, p in members if p == reason)
        per_class[label] = {
            "n": len(members),
            # recall: handed off at all; reason_recall: with this class's reason;
            # precision: of the messages given this reason, the share whose label has it.
            "recall": _ratio(sum(1 for _, p in members if p is not None), len(members)),
            "reason_recall": _ratio(right, len(members)),
            "precision": _ratio(sum(1 for ex, _ in said if EXPECTED_REASON.get(ex.label) == reason), len(said)),
        }
    return {
        "n": len(examples),
        "non_answerable": len(non),
        "handoff_precision": _ratio(sum(1 for ex, _ in handed if ex.label != ANSWERABLE), len(handed)),
        "handoff_recall": _ratio(sum(1 for _, p in non if p is not None), len(non)),
        "answerable_handed_off": _ratio(sum(1 for _, p in ans if p is not None), len(ans)),
        "per_class": per_class,
        "by_language": {
            lang: {
                "handoff_recall": _ratio(
                    sum(1 for ex, p in non if p is not None and ex.lang == lang),
                    sum(1 for ex, _ in non if ex.lang == lang),
                ),
                "answerable_handed_off": _ratio(
                    sum(1 for ex, p in ans if p is not None and ex.lang == lang),
                    sum(1 for ex, _ in ans if ex.lang == lang),
                ),
            }
            for lang in ("vi", "en")
        },
    }


def errors(examples: list[Example], predict: Callable[[str], str | None]) -> list[dict[str, str | None]]:
    """Return the messages screened wrongly (missed, wrong reason, or answerable handed off)."""
    out: list[dict[str, str | None]] = []
    for ex in examples:
        got = predict(ex.text)
        want = None if ex.label == ANSWERABLE else EXPECTED_REASON[ex.label]
        if got != want:
            out.append({"id": ex.id, "text": ex.text, "label": ex.label, "got": got})
    return out


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def run(*, show_errors: bool = False) -> dict[str, object]:
    """Evaluate the shipped screen and the baseline on the test split (dev for reference)."""
    started = time.perf_counter()
    examples = load()
    test = [ex for ex in examples if ex.split == "test"]
    dev = [ex for ex in examples if ex.split == "dev"]
    results: dict[str, object] = {
        "set": {"examples": len(examples), "dev": len(dev), "test": len(test)},
        "test": evaluate(test, screen),
        "baseline_test": evaluate(test, baseline),
        "dev": evaluate(dev, screen),
    }
    if show_errors:
        results["test_errors"] = errors(test, screen)
        results["dev_errors"] = errors(dev, screen)
    results["seconds"] = round(time.perf_counter() - started, 2)
    return results


def main(argv: list[str]) -> None:
    """Entry point: print the figures as JSON (`--errors` lists the misjudged messages too)."""
    sys.stdout.write(json.dumps(run(show_errors="--errors" in argv), ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Train the hand-off model on the dev split only and write `crm_core/retrieval/data/handoff_model.json`.

Run: `.venv/bin/python benchmarks/handoff/train.py [--write]` (prints the cross-validated choice as JSON).
A multinomial logistic regression (scikit-learn, a benchmark-only dependency) over `handoff.features`:
classes `answerable`, `own_order`, `dispute`, `named_person`, `out_of_scope` (messages the safety rules
own -- complaints, asking for a person, injections, other people's data -- are not its job and are left
out). The regularisation C and the hand-off threshold are chosen by 5-fold cross-validation on dev: each
dev message is screened by `handoff.screen` (rules, the model's gate and what follows the model included)
with the model of the folds that did not see it. Only weights of features seen in dev are written;
the product reads them without scikit-learn.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.handoff.bench import ANSWERABLE, EXPECTED_REASON, Example, load  # noqa: E402
from crm_core.retrieval.handoff import HandoffModel, features, screen  # noqa: E402

MODEL_FILE = ROOT / "crm_core" / "retrieval" / "data" / "handoff_model.json"
CLASSES = ("answerable", "own_order", "dispute", "named_person", "out_of_scope")
C_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
THRESHOLDS = tuple(t / 100 for t in range(30, 96, 5))
# A false hand-off (an answerable question sent to a person) costs this many missed hand-offs.
FALSE_HANDOFF_COST = 3.0
FOLDS = 5
SEED = 11


@cache
def _features(text: str) -> frozenset[str]:
    return frozenset(features(text))


def _matrix(texts: list[str], vocab: dict[str, int]) -> np.ndarray:
    x = np.zeros((len(texts), len(vocab)))
    for row, text in enumerate(texts):
        feats = _features(text)
        scale = 1.0 / np.sqrt(len(feats)) if feats else 0.0
        for f in feats:
            col = vocab.get(f)
            if col is not None:
                x[row, col] = scale
    return x


def fit(examples: list[Example], c: float, threshold: float) -> HandoffModel:
    """Fit the model on `examples` (only the classes it decides)."""
    from sklearn.linear_model import LogisticRegression

    own = [ex for ex in examples if ex.label in CLASSES]
    vocab: dict[str, int] = {}
    for ex in own:
        for f in sorted(_features(ex.text)):
            vocab.setdefault(f, len(vocab))
    x = _matrix([ex.text for ex in own], vocab)
    y = [CLASSES.index(ex.label) for ex in own]
    model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    coef = model.coef_  # (classes, features)
    names = list(vocab)
    weights = {
        names[j]: tuple(round(float(v), 4) for v in coef[:, j])
        for j in range(len(names))
        if np.abs(coef[:, j]).max() >= 0.01
    }
    return HandoffModel(
        classes=tuple(CLASSES[i] for i in model.classes_),
        bias=tuple(round(float(b), 4) for b in model.intercept_),
        weights=weights,
        threshold=threshold,
    )


def _folds(examples: list[Example]) -> list[list[Example]]:
    rng = np.random.default_rng(SEED)
    folds: list[list[Example]] = [[] for _ in range(FOLDS)]
    for label in sorted({ex.label for ex in examples}):
        members = [ex for ex in examples if ex.label == label]
        order = rng.permutation(len(members))
        for i, j in enumerate(order):
            folds[i % FOLDS].append(members[int(j)])
    return folds


def _score(pairs: list[tuple[Example, str | None]]) -> float:
    non = [p for ex, p in pairs if ex.label != ANSWERABLE]
    ans = [p for ex, p in pairs if ex.label == ANSWERABLE]
    recall = sum(1 for p in non if p is not None) / max(len(non), 1)
    false = sum(1 for p in ans if p is not None) / max(len(ans), 1)
    return recall - FALSE_HANDOFF_COST * false


def choose(dev: list[Example]) -> dict[str, Any]:
    """Cross-validate C and the threshold on dev; return the grid's scores and the choice."""
    folds = _folds(dev)
    grid: list[dict[str, Any]] = []
    for c in C_GRID:
        pairs_by_t: dict[float, list[tuple[Example, str | None]]] = {t: [] for t in THRESHOLDS}
        for k, held in enumerate(folds):
            train = [ex for i, fold in enumerate(folds) if i != k for ex in fold]
            base = fit(train, c, 0.5)
            for t in THRESHOLDS:
                # `screen` itself, so the rules before the model, its gate (`could_be`) and what follows it count.
                at_t = replace(base, threshold=t)
                pairs_by_t[t] += [(ex, screen(ex.text, model=at_t)) for ex in held]
        for t, pairs in pairs_by_t.items():
            right = sum(1 for ex, p in pairs if p == (None if ex.label == ANSWERABLE else EXPECTED_REASON[ex.label]))
            accuracy = round(right / len(pairs), 4)
            grid.append({"C": c, "threshold": t, "score": round(_score(pairs), 4), "accuracy": accuracy})
    best = max(g["score"] for g in grid)
    top = [g for g in grid if g["score"] >= best - 1e-9]
    # Ties: the most accurate reasons, then the middle of the plateau (few dev messages per class).
    top_acc = max(g["accuracy"] for g in top)
    plateau = [g for g in top if g["accuracy"] >= top_acc - 1e-9]
    return {"choice": plateau[len(plateau) // 2], "grid_best": sorted(grid, key=lambda g: -g["score"])[:8]}


def main(argv: list[str]) -> None:
    """Choose on dev, fit on all of dev, and (with --write) write the model file."""
    dev = [ex for ex in load() if ex.split == "dev"]
    chosen = choose(dev)
    model = fit(dev, chosen["choice"]["C"], chosen["choice"]["threshold"])
    chosen["features"] = len(model.weights)
    if "--write" in argv:
        doc = {
            "_comment": "Written by benchmarks/handoff/train.py --write from the dev split of "
            "benchmarks/handoff/handoff_set.jsonl: multinomial logistic regression over handoff.features "
            f"(C={chosen['choice']['C']}); hand off when 1 - P(answerable) >= threshold.",
            "classes": list(model.classes),
            "bias": list(model.bias),
            "threshold": model.threshold,
            "weights": {k: list(v) for k, v in sorted(model.weights.items())},
        }
        MODEL_FILE.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(chosen) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

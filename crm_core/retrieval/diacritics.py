"""pyvi's accent restorer, loaded without scikit-learn.

`pyvi.ViDiac` imports `sklearn_crfsuite.CRF` only to call `CRF(model_filename=…).predict`, which is
python-crfsuite's `Tagger.tag` over pyvi's own shipped model file (`models/vidiac.crfsuite`). Importing
sklearn_crfsuite pulls scikit-learn and scipy: about 1.5 s of a cold `chatcrm kb ask` (the issue asks < 2 s)
for nothing it uses. So, unless the real package is already loaded, pyvi is imported with a stand-in
`sklearn_crfsuite` module whose `CRF` does exactly that predict through `pycrfsuite`, and the stand-in is
removed again. The restorer's output is the same (checked in tests against the real import).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_restore: Callable[[str], str] | None = None


class _TaggerCRF:
    """What pyvi uses of `sklearn_crfsuite.CRF`: a model file and `predict` over feature sequences."""

    def __init__(self, model_filename: str | None = None, **_: Any) -> None:
        self.model_filename = model_filename
        self._tagger: Any = None

    def __getstate__(self) -> dict[str, Any]:  # pyvi pickles and unpickles the model once at import
        return {"model_filename": self.model_filename}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.model_filename = state["model_filename"]
        self._tagger = None

    def predict(self, sequences: list[Any]) -> list[list[str]]:
        if self._tagger is None:
            import pycrfsuite

            tagger = pycrfsuite.Tagger()
            tagger.open(self.model_filename)
            self._tagger = tagger
        return [list(self._tagger.tag(features)) for features in sequences]


def _import_vidiac() -> Any:
    if "sklearn_crfsuite" in sys.modules or "pyvi.ViDiac" in sys.modules:
        from pyvi import ViUtils

        return ViUtils
    stand_in = types.ModuleType("sklearn_crfsuite")
    stand_in.CRF = _TaggerCRF  # type: ignore[attr-defined]
    sys.modules["sklearn_crfsuite"] = stand_in
    try:
        from pyvi import ViUtils
    finally:
        if sys.modules.get("sklearn_crfsuite") is stand_in:
            del sys.modules["sklearn_crfsuite"]
    return ViUtils


def add_accents(text: str) -> str:
    """Return `text` with Vietnamese diacritics guessed by pyvi's model."""
    global _restore
    if _restore is None:
        with _lock:
            if _restore is None:
                _restore = _import_vidiac().add_accents
    return str(_restore(text))


__all__ = ["add_accents"]

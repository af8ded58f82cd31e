"""pyvi's accent restorer loads without scikit-learn and guesses exactly what the real import guesses."""

from __future__ import annotations

import json
import subprocess
import sys

SAMPLES = ["ghe c300 gia bao nhieu", "doi tra trong bao lau neu ghe bi loi", "tra tien bang the tin dung dc ko"]

_PROBE = """
import json, sys
{prelude}
from crm_core.retrieval.diacritics import add_accents
out = [add_accents(s) for s in json.loads(sys.argv[1])]
print(json.dumps({{"out": out, "sklearn": "sklearn" in sys.modules}}))
"""


def _run(prelude: str) -> dict[str, object]:
    code = _PROBE.format(prelude=prelude)
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(SAMPLES)], capture_output=True, text=True, check=True, timeout=300
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_restorer_does_not_import_scikit_learn() -> None:
    assert _run("")["sklearn"] is False


def test_the_stand_in_guesses_what_the_real_model_guesses() -> None:
    light = _run("")
    real = _run("import sklearn_crfsuite")  # the real package loaded first: pyvi is imported as it ships
    assert real["sklearn"] is True
    assert light["out"] == real["out"]
    assert light["out"] != SAMPLES  # it did restore something

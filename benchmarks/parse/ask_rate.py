"""How often a log's card asks "which company?", and how often it picks the wrong one (issue 10, item 2).

Each message of a split (dev by default: the thresholds of crm_core/understanding/matching.py were set on
it; never tune on test) is parsed, and its company is matched against a directory: the demo business's
56 companies (crm_core/demo/data/companies.yaml), the message's own `known` companies, and

- `existing`: the expected company too, as if every customer were already in the CRM: the card should
  know it without a question;
- `new`: without the expected company: the card should say "new" (or ask), never preselect another;
- `short`: the CRM holds a longer name of which the typed one is a short form (the expected name with a word
  before or after it: "Kaizen" typed, "Kaizen Precision Vietnam" stored): the card should know it.

For each: `asks` (a question is shown), `known_right`, `known_wrong` (a wrong company shown as known or
preselected: Save would commit it), `new`. The same figures for the rule before issue 10 (`before`:
exact folded name known, any rapidfuzz WRatio >= 85 look-alike asked about with the best preselected).

Run: .venv/bin/python benchmarks/parse/ask_rate.py [--split dev|test] (prints one JSON document)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.parse.bench import _known, load_messages  # noqa: E402
from crm_core.textnorm import fold  # noqa: E402
from crm_core.understanding import parse_log  # noqa: E402
from crm_core.understanding.matching import judge_company, name_key  # noqa: E402

DEMO_COMPANIES = ROOT / "crm_core" / "demo" / "data" / "companies.yaml"
BEFORE_LOOKALIKE = 85.0


def _demo_names() -> list[str]:
    return [c["name"] for c in yaml.safe_load(DEMO_COMPANIES.read_text(encoding="utf-8"))["companies"]]


def _before(name: str, companies: dict[int, str]) -> tuple[int | None, bool]:
    """The rule before issue 10: (the company preselected, whether the card asked)."""
    exact = [cid for cid, n in companies.items() if fold(n) == fold(name)]
    if exact:
        return exact[0], False
    found = process.extract(utils.default_process(fold(name)), {k: utils.default_process(fold(v)) for k, v in
                                                                companies.items()},
                            scorer=fuzz.WRatio, processor=None, score_cutoff=BEFORE_LOOKALIKE, limit=3)
    return (found[0][2], True) if found else (None, False)


_EXTRA_WORDS = ("Precision", "Hoàng Gia", "Sài Gòn", "Holdings", "Miền Nam", "Quốc tế")


def _longer(name: str, i: int) -> str:
    """A longer stored name of which `name` is a short form: a word after it, or (every other one) before it."""
    extra = _EXTRA_WORDS[i % len(_EXTRA_WORDS)]
    return f"{name} {extra}" if i % 2 == 0 else f"{extra} {name}"


def _tally(rows: list[tuple[int | None, bool, int | None]]) -> dict[str, Any]:
    """rows: (company shown as chosen, asked, the right company's id or None when it is new)."""
    n = len(rows)
    right = sum(1 for chosen, _asked, want in rows if chosen is not None and chosen == want)
    wrong = sum(1 for chosen, _asked, want in rows if chosen is not None and chosen != want)
    asks = sum(1 for _c, asked, _w in rows if asked)
    new = sum(1 for chosen, _asked, _w in rows if chosen is None)
    return {"messages": n, "ask_rate": round(asks / n, 3) if n else None, "asks": asks, "known_right": right,
            "known_wrong": wrong, "new": new}


def run(split: str = "dev") -> dict[str, Any]:
    """Return the figures for `split`."""
    demo = _demo_names()
    out: dict[str, Any] = {"split": split}
    for scenario in ("existing", "new", "short"):
        now_rows: list[tuple[int | None, bool, int | None]] = []
        before_rows: list[tuple[int | None, bool, int | None]] = []
        for row in load_messages():
            expected = row["expected"].get("company")
            if row["split"] != split or not expected:
                continue
            known = _known(row)
            parsed = parse_log(row["text"], now=datetime.fromisoformat(row["now"]), known=known)
            if not parsed.company:
                continue
            names = list(dict.fromkeys([*demo, *(row.get("known") or {}).get("companies", [])]))
            names = [n for n in names if name_key(n) != name_key(expected)]
            if scenario == "existing":
                names.append(expected)
            if scenario == "short":
                names.append(_longer(expected, len(now_rows)))
            companies = dict(enumerate(names))
            want = len(names) - 1 if scenario in ("existing", "short") else None
            verdict = judge_company(parsed.company, companies)
            chosen = verdict.known if verdict.known is not None else verdict.preselect
            now_rows.append((chosen, verdict.asks, want))
            before_rows.append((*_before(parsed.company, companies), want))
        out[scenario] = {"now": _tally(now_rows), "before": _tally(before_rows)}
    return out


def main() -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    print(json.dumps(run(parser.parse_args().split), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

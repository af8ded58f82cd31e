"""Parse benchmark: own labelled logs (test split), duckling vi time/money, NLU++ banking slots, speed.

Run: .venv/bin/python benchmarks/parse/bench.py  (prints one JSON document)
"""

from __future__ import annotations

import glob
import json
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crm_core.understanding import KnownContact, KnownNames, ParsedLog, parse_log  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = Path(ROOT.parent / "shared" / "benchmarks")
FIELDS = ("kind", "contact", "company", "amount", "currency", "due")
NLUPP_NOW = datetime.fromisoformat("2022-03-15T09:00:00+00:00")
UNIT_TO_CCY = {
    "Dollar": "USD",
    "Cent": "USD",
    "Pound": "GBP",
    "VND": "VND",
    "USD": "USD",
    "EUR": "EUR",
    "GBP": "GBP",
    "INR": "INR",
    "AED": "AED",
}


def _norm(value: object) -> object:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def _same(field: str, got: object, want: object) -> bool:
    if field == "amount":
        if got is None or want is None:
            return got is None and want is None
        return abs(float(got) - float(want)) < 0.01  # type: ignore[arg-type]
    return _norm(got) == _norm(want)


# Extra figures (issue 10), each over the rows that label it; they do not enter `overall`:
# due_time — every row (an unlabelled one expects no time); money — amount and currency, plus quantity and
# unit_price where labelled, on rows with an amount or a quantity; stage, next_step, language — rows labelling them.
EXTRA_FIELDS = ("due_time", "money", "stage", "next_step", "language")


def _extra_want(key: str, values: dict[str, Any]) -> object:
    if key == "money":
        return {k: values.get(k) for k in ("amount", "currency", "quantity", "unit_price")}
    return values.get(key)


def _extra_checks(want: dict[str, Any], got: dict[str, Any]) -> dict[str, bool]:
    checks = {"due_time": _same("due_time", got.get("due_time"), want.get("due_time"))}
    if want.get("amount") is not None or want.get("quantity") is not None:
        fields = ["amount", "currency"] + [k for k in ("quantity", "unit_price") if k in want]
        checks["money"] = all(_same(k if k != "unit_price" else "amount", got.get(k), want.get(k)) for k in fields)
    for key in ("stage", "next_step", "language"):
        if key in want:
            checks[key] = _same(key, got.get(key), want.get(key))
    return checks


def _known(row: dict[str, Any]) -> KnownNames | None:
    k = row.get("known")
    if not k:
        return None
    contacts = [KnownContact(c["name"], c.get("company")) for c in k.get("contacts", [])]
    return KnownNames(companies=tuple(k.get("companies", [])), contacts=tuple(contacts))


def load_messages() -> list[dict[str, Any]]:
    """Read the labelled set."""
    with (HERE / "messages.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score_own(rows: list[dict[str, Any]], *, show_errors: bool = False) -> dict[str, object]:
    """Per-field accuracy of parse_log on labelled rows."""
    hits = dict.fromkeys(FIELDS, 0)
    exact = 0
    extra_hits = {key: [0, 0] for key in EXTRA_FIELDS}
    errors: list[dict[str, object]] = []
    for row in rows:
        got = parse_log(row["text"], now=datetime.fromisoformat(row["now"]), known=_known(row)).to_contract()
        ok_all = True
        for field in FIELDS:
            want = row["expected"].get(field)
            if _same(field, got.get(field), want):
                hits[field] += 1
            else:
                ok_all = False
                if show_errors:
                    errors.append(
                        {"id": row["id"], "field": field, "want": want, "got": got.get(field), "text": row["text"]}
                    )
        exact += ok_all
        for key, ok in _extra_checks(row["expected"], got).items():
            extra_hits[key][0] += ok
            extra_hits[key][1] += 1
            if not ok and show_errors:
                errors.append({"id": row["id"], "field": key, "want": _extra_want(key, row["expected"]),
                               "got": _extra_want(key, got), "text": row["text"]})
    n = max(len(rows), 1)
    result: dict[str, object] = {f: round(hits[f] / n, 4) for f in FIELDS}
    result["overall"] = round(sum(hits.values()) / (n * len(FIELDS)), 4)
    result["all_fields_right"] = round(exact / n, 4)
    result["n"] = len(rows)
    for key, (right, count) in extra_hits.items():
        result[key] = round(right / max(count, 1), 4)
        result[f"{key}_n"] = count
    if show_errors:
        result["errors"] = errors
    return result


def speed(rows: list[dict[str, Any]], repeat: int = 10, rounds: int = 5) -> float:
    """Messages per second on one core: the best of `rounds` timings of `repeat` passes over the rows."""
    items = [(r["text"], datetime.fromisoformat(r["now"]), _known(r)) for r in rows]
    parse_log("warm up", now=items[0][1])
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            for text, now, known in items:
                parse_log(text, now=now, known=known)
        best = min(best, time.perf_counter() - start)
    return round(len(items) * repeat / best, 1)


def _duckling_rows() -> list[dict[str, Any]]:
    path = SHARED / "vi_duckling_corpus" / "duckling_vi_time_money_number_plus_en_money.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def duckling(*, show_errors: bool = False) -> dict[str, object]:
    """Vietnamese day-grain time (first of `dates`) and money (amount + currency) from duckling's corpus."""
    rows = _duckling_rows()
    t_ok = t_n = 0
    m_ok = m_n = 0
    en_ok = en_n = 0
    errors: list[dict[str, object]] = []
    for r in rows:
        exp = r["expected"]
        if r["dim"] == "time" and r["lang"] == "vi" and exp.get("grain") == "Day":
            now = datetime.fromisoformat(r["reference_time"])
            want_parts = exp["value"] if exp["type"] == "value" else exp["from"]
            want = date(*want_parts[:3])
            got = parse_log(r["text"], now=now, language="vi")
            t_n += 1
            if got.dates and got.dates[0] == want:
                t_ok += 1
            elif show_errors:
                errors.append(
                    {
                        "dim": "time",
                        "text": r["text"],
                        "want": want.isoformat(),
                        "got": [d.isoformat() for d in got.dates],
                    }
                )
        elif r["dim"] == "amount-of-money":
            targets = _money_targets(exp)
            if not targets:
                continue
            got = parse_log(r["text"], now=NLUPP_NOW, language=r["lang"])
            ok = got.amount is not None and any(
                abs(got.amount - v) < Decimal("0.01") and got.currency == c for v, c in targets
            )
            if r["lang"] == "vi":
                m_n += 1
                m_ok += ok
                if not ok and show_errors:
                    errors.append(
                        {
                            "dim": "money",
                            "text": r["text"],
                            "want": [(str(v), c) for v, c in targets],
                            "got": [str(got.amount), got.currency],
                        }
                    )
            else:
                en_n += 1
                en_ok += ok
    out: dict[str, object] = {
        "vi_time_day_grain": round(t_ok / max(t_n, 1), 4),
        "vi_time_n": t_n,
        "vi_money": round(m_ok / max(m_n, 1), 4),
        "vi_money_n": m_n,
        "en_money_named_units": round(en_ok / max(en_n, 1), 4),
        "en_money_n": en_n,
    }
    if show_errors:
        out["errors"] = errors
    return out


def _money_targets(exp: dict[str, Any]) -> list[tuple[Decimal, str]]:
    unit = exp.get("unit")
    ccy = UNIT_TO_CCY.get(unit or "")
    if ccy is None:
        return []
    scale = Decimal("0.01") if unit == "Cent" else Decimal(1)
    values = [exp.get("value")] if exp["type"] == "value" else [exp.get("from"), exp.get("to")]
    return [(Decimal(str(v)) * scale, ccy) for v in values if v is not None]


def nlupp(*, show_errors: bool = False) -> dict[str, object]:
    """NLU++ banking slots: value accuracy per field, precision on slot-less messages."""
    rows: list[dict[str, Any]] = []
    for path in sorted(glob.glob(str(SHARED / "en_nlupp_banking" / "fold*.json"))):
        with open(path, encoding="utf-8") as fh:
            rows.extend(json.load(fh))
    counts = {k: [0, 0] for k in ("amount_of_money", "company_name", "person_name", "date_first", "date_any")}
    clean_ok = clean_n = 0
    errors: list[dict[str, object]] = []
    for r in rows:
        slots = r.get("slots") or {}
        got = parse_log(r["text"], now=NLUPP_NOW)
        if not slots:
            clean_n += 1
            clean_ok += got.amount is None and got.company is None and got.contact is None and not got.dates
            continue
        if "amount_of_money" in slots:
            want = slots["amount_of_money"]["value"]["amount"]
            ok = got.amount is not None and abs(float(got.amount) - float(want)) <= 0.01
            _count(counts, "amount_of_money", ok, errors, show_errors, r["text"], want, got.amount)
        if "company_name" in slots:
            want = slots["company_name"]["value"]
            _count(
                counts,
                "company_name",
                _norm(got.company) == _norm(want),
                errors,
                show_errors,
                r["text"],
                want,
                got.company,
            )
        if "person_name" in slots:
            want = slots["person_name"]["value"]
            _count(
                counts,
                "person_name",
                _norm(got.contact) == _norm(want),
                errors,
                show_errors,
                r["text"],
                want,
                got.contact,
            )
        if "date" in slots and isinstance(slots["date"]["value"], dict):
            v = slots["date"]["value"]
            want_d = date(v["year"], v["month"], v["day"])
            _count(
                counts, "date_first", bool(got.dates) and got.dates[0] == want_d, errors, False, r["text"], want_d, None
            )
            _count(
                counts,
                "date_any",
                want_d in got.dates,
                errors,
                show_errors,
                r["text"],
                want_d.isoformat(),
                [d.isoformat() for d in got.dates],
            )
    out: dict[str, object] = {k: round(ok / max(n, 1), 4) for k, (ok, n) in counts.items()}
    out["n"] = {k: n for k, (_, n) in counts.items()}
    out["no_slot_precision"] = round(clean_ok / max(clean_n, 1), 4)
    out["no_slot_n"] = clean_n
    if show_errors:
        out["errors"] = errors
    return out


def _count(
    counts: dict[str, list[int]],
    key: str,
    ok: bool,
    errors: list[dict[str, object]],
    show: bool,
    text: str,
    want: object,
    got: object,
) -> None:
    counts[key][1] += 1
    counts[key][0] += ok
    if not ok and show:
        errors.append({"field": key, "text": text, "want": str(want), "got": str(got)})


def run() -> dict[str, object]:
    """Return every figure of the parse benchmark as JSON-able values."""
    rows = load_messages()
    test = [r for r in rows if r["split"] == "test"]
    dev = [r for r in rows if r["split"] == "dev"]
    return {
        "own_test": score_own(test),
        "own_dev": score_own(dev),
        "messages_per_second_one_core": speed(test),
        "duckling_vi": duckling(),
        "nlupp_banking_en": nlupp(),
    }


def _parsed_debug(row: dict[str, Any]) -> ParsedLog:
    return parse_log(row["text"], now=datetime.fromisoformat(row["now"]), known=_known(row))


def dev_errors() -> list[dict[str, object]]:
    """The dev split's misses, for tuning (the test split is only reported)."""
    rows = [r for r in load_messages() if r["split"] == "dev"]
    errors = score_own(rows, show_errors=True)["errors"]
    return errors if isinstance(errors, list) else []


if __name__ == "__main__":
    if sys.argv[1:] == ["--dev-errors"]:
        for error in dev_errors():
            print(json.dumps(error, ensure_ascii=False))
    else:
        print(json.dumps(run(), ensure_ascii=False, indent=2))

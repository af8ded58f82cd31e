"""The spreadsheet format as data: sheets, columns and the headers people type for them (data/sheets.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crm_core.textnorm import fold

_DATA = Path(__file__).resolve().parent / "data"
_PUNCTUATION_RE = re.compile(r"[\s_\-.:*#/\\]+")
_BRACKETS_RE = re.compile(r"[(\[](.*?)[)\]]")


def header_form(text: str) -> str:
    """Return a header as it is compared: folded, with _ - . : * as spaces ("Tên_công ty *" -> "ten cong ty")."""
    return _PUNCTUATION_RE.sub(" ", fold(text)).strip()


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its key, the headers export writes, every header import reads."""

    key: str
    en: str
    vi: str
    names: frozenset[str]

    def header(self, language: str) -> str:
        """Return the header export writes in `language`."""
        return self.vi if language == "vi" else self.en


@dataclass(frozen=True)
class SheetSpec:
    """One sheet: its key, its names, its columns (the first is required)."""

    key: str
    en: str
    vi: str
    names: frozenset[str]
    columns: tuple[ColumnSpec, ...]

    @property
    def required(self) -> ColumnSpec:
        """Return the column every row must fill."""
        return self.columns[0]

    def title(self, language: str) -> str:
        """Return the sheet name export writes in `language`."""
        return self.vi if language == "vi" else self.en

    def column_of(self, header: str) -> str | None:
        """Return the key of the column `header` names, or None when it names none."""
        for candidate in _header_candidates(header):
            for column in self.columns:
                if candidate in column.names:
                    return column.key
        return None


def _header_candidates(header: str) -> list[str]:
    """The whole header, then the text outside and inside brackets ("name (tên công ty)")."""
    whole = header_form(header)
    candidates = [whole]
    inside = _BRACKETS_RE.findall(header)
    outside = _BRACKETS_RE.sub(" ", header)
    if inside:
        candidates.append(header_form(outside))
        candidates.extend(header_form(part) for part in inside)
    return [c for c in candidates if c]


def _names(entry: dict[str, Any], key: str) -> frozenset[str]:
    raw = [key, entry["en"], entry["vi"], *entry.get("aliases", [])]
    return frozenset(header_form(str(name)) for name in raw)


@cache
def sheet_specs() -> tuple[SheetSpec, ...]:
    """Return the sheets in import order (a row refers only to sheets before its own)."""
    with (_DATA / "sheets.yaml").open(encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    specs = []
    for key, entry in tree["sheets"].items():
        columns = tuple(ColumnSpec(key=c["key"], en=c["en"], vi=c["vi"], names=_names(c, c["key"]))
                        for c in entry["columns"])
        specs.append(SheetSpec(key=key, en=entry["en"], vi=entry["vi"], names=_names(entry, key), columns=columns))
    return tuple(specs)


SHEETS = tuple(spec.key for spec in sheet_specs())


def spec_of(sheet: str) -> SheetSpec:
    """Return the spec of the sheet with key `sheet`."""
    return next(spec for spec in sheet_specs() if spec.key == sheet)


def sheet_named(name: str) -> SheetSpec | None:
    """Return the sheet a workbook tab or CSV file name stands for ("Công ty", "companies.csv"), or None."""
    wanted = header_form(name)
    return next((spec for spec in sheet_specs() if wanted in spec.names), None)


def is_ambiguous_name(name: str) -> bool:
    """Tell whether a tab name may mean companies or people ("Khách hàng"): its headers decide."""
    return header_form(name) in _ambiguous_names()


@cache
def _ambiguous_names() -> frozenset[str]:
    with (_DATA / "sheets.yaml").open(encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    return frozenset(header_form(str(name)) for name in tree.get("ambiguous_tab_names", []))


def sheet_by_headers(headers: list[str]) -> SheetSpec | None:
    """Guess the sheet of a tab named like none ("Sheet1") from its headers: the one whose required column is
    there and that recognises the most headers."""
    best: tuple[int, SheetSpec] | None = None
    for spec in sheet_specs():
        keys = [spec.column_of(h) for h in headers if h]
        if spec.required.key not in keys:
            continue
        score = sum(k is not None for k in keys)
        if best is None or score > best[0]:
            best = (score, spec)
    return best[1] if best else None

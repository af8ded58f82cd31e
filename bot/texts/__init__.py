"""User-facing strings in Vietnamese and English, loaded from YAML beside this file."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("vi", "en")
_DIR = Path(__file__).resolve().parent


@cache
def _catalog(language: str) -> dict[str, str]:
    with (_DIR / f"{language}.yaml").open(encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    flat: dict[str, str] = {}
    _flatten(tree, "", flat)
    return flat


def _flatten(node: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, f"{prefix}{key}.", out)
    else:
        out[prefix.rstrip(".")] = str(node)


class Texts:
    """Look up and fill a string in one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "vi"
        self._strings = _catalog(self.language)

    def __call__(self, key: str, **values: object) -> str:
        """Return the string `key` filled with `values`."""
        template = self._strings.get(key) or _catalog("vi").get(key)
        if template is None:
            raise KeyError(f"no text {key!r}")
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        """Tell whether `key` exists."""
        return key in self._strings

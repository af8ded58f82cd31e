"""User-facing strings in Vietnamese and English, loaded from YAML beside this file."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale

from crm_core.markers import ERASED

LANGUAGES = ("vi", "en")
# The value whose number picks a plural form, the first of these present.
PLURAL_BY = ("count", "days", "total")
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
        """Return the string `key` filled with `values`; a key written as plural forms (one:, other:, as CLDR
        names them) picks the form its number takes in this language (PLURAL_BY: count, else days, else total)."""
        template = self._template(self.language, key, values) or _catalog("vi").get(key) or \
            self._template("vi", key, values)
        if template is None:
            raise KeyError(f"no text {key!r}")
        if not values:
            return template
        return template.format(**{name: self.words(v) if isinstance(v, str) else v for name, v in values.items()})

    def words(self, text: str) -> str:
        """A stored text as read here: what an erasure took out of it (the `ERASED` marker, in no language) worded in
        this language, privacy.erased_text for a whole text, privacy.erased_inline for a part of one. Every value a
        text is filled with is read so, so a record's words never show the marker."""
        if ERASED not in text:
            return text
        if text.strip() == ERASED:
            return self("privacy.erased_text")
        return text.replace(ERASED, self("privacy.erased_inline"))

    @staticmethod
    def _template(language: str, key: str, values: dict[str, object]) -> str | None:
        strings = _catalog(language)
        if key in strings:
            return strings[key]
        if f"{key}.other" not in strings:
            return None
        number = next((v for name in PLURAL_BY if isinstance(v := values.get(name), int)), None)
        form = Locale.parse(language).plural_form(abs(number)) if number is not None else "other"
        return strings.get(f"{key}.{form}") or strings[f"{key}.other"]

    def has(self, key: str) -> bool:
        """Tell whether `key` exists."""
        return key in self._strings or f"{key}.other" in self._strings

"""The parser's word lists, read once from the JSON files in `data/` (see data/README.md).

A file holds named sets::

    {"sets": {"not_a_name": {"about": "why", "include": ["vi_particles", "en_pronouns"], "words": ["kh"]}}}

A set is its own `words` plus every word of the sets it `include`s, resolved recursively. Names are
shared by all the files, so a topic file builds on the word classes of `common.json` instead of
pasting them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TypedDict, cast

VOCABULARY_FILES = ("common.json", "kinds.json", "people.json", "companies.json", "amounts.json", "language.json",
                    "chatter.json", "matching.json", "deals.json")
_KEYS = frozenset({"about", "include", "words"})


class SetDeclaration(TypedDict, total=False):
    """One named set as written in a data file."""

    about: str
    include: list[str]
    words: list[str]


class VocabularyError(ValueError):
    """A data file is malformed: a set declared twice, an unknown or circular include, a bad shape."""


def words(name: str) -> frozenset[str]:
    """Return the named set: its own words and those of every set it includes."""
    try:
        return _all_sets()[name]
    except KeyError:
        raise VocabularyError(f"no vocabulary set named {name!r}") from None


def phrases(name: str) -> tuple[tuple[str, ...], ...]:
    """Return the named set's entries split into words ("cong ty" -> ("cong", "ty")), longest first."""
    return tuple(sorted((tuple(entry.split()) for entry in words(name)), key=lambda p: (-len(p), p)))


@cache
def declarations() -> Mapping[str, SetDeclaration]:
    """Return every set as declared in the package's data files, by name."""
    return read_declarations(_package_files())


@cache
def _all_sets() -> dict[str, frozenset[str]]:
    return resolve(declarations())


def _package_files() -> list[tuple[str, str]]:
    # importlib.resources finds the data inside an installed wheel as well as in a checkout
    folder = resources.files("crm_core.understanding").joinpath("data")
    return [(name, folder.joinpath(name).read_text(encoding="utf-8")) for name in VOCABULARY_FILES]


def read_declarations(files: Sequence[tuple[str, str]]) -> dict[str, SetDeclaration]:
    """Parse (file name, JSON text) pairs into one table of set declarations."""
    table: dict[str, SetDeclaration] = {}
    for file_name, text in files:
        document = json.loads(text)
        sets = document.get("sets") if isinstance(document, dict) else None
        if not isinstance(sets, dict):
            raise VocabularyError(f"{file_name}: no 'sets' object")
        for name, declaration in sets.items():
            if name in table:
                raise VocabularyError(f"{file_name}: set {name!r} is declared twice")
            table[name] = _checked(f"{file_name}: {name}", declaration)
    return table


def _checked(where: str, declaration: object) -> SetDeclaration:
    if not isinstance(declaration, dict):
        raise VocabularyError(f"{where}: a set is an object with 'words' and/or 'include'")
    unknown = set(declaration) - _KEYS
    if unknown:
        raise VocabularyError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("include", "words"):
        value = declaration.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise VocabularyError(f"{where}: {key!r} must be a list of strings")
    return cast(SetDeclaration, declaration)


def resolve(declarations: Mapping[str, SetDeclaration]) -> dict[str, frozenset[str]]:
    """Expand every set's includes; raise VocabularyError on an unknown name or a circle."""
    done: dict[str, frozenset[str]] = {}

    def expand(name: str, trail: tuple[str, ...]) -> frozenset[str]:
        if name in done:
            return done[name]
        if name in trail:
            raise VocabularyError("sets include each other: " + " -> ".join((*trail, name)))
        if name not in declarations:
            raise VocabularyError(f"set {trail[-1]!r} includes {name!r}, which is not declared")
        declaration = declarations[name]
        members = set(declaration.get("words", []))
        for inner in declaration.get("include", []):
            members |= expand(inner, (*trail, name))
        done[name] = frozenset(members)
        return done[name]

    for name in declarations:
        expand(name, ())
    return done
